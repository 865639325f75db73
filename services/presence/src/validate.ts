/**
 * Decoding of what other processes send presence. Nothing here throws: a buggy gateway's message
 * becomes `{ ok: false, problem }` (counted and logged by the caller), and a batch keeps its valid
 * deltas while each bad one is reported (the digest then differs and a resync repairs the rest).
 */
import { SUB_MAX } from '@parley/auth';
import {
  MAX_LIST,
  NAME_MAX,
  type PresenceDelta,
  type PresenceDeltaBatch,
  type PresenceHeartbeat,
  type PresenceRequest,
  type PresenceSnapshot,
  parseRoomId,
  STATUSES,
} from '@parley/protocol';
import type { InstanceBeat } from './instances.ts';

export type Decoded<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Room ids as the gateway accepts them, with the largest member list it may be configured for. */
const MAX_ROOM_MEMBERS = 1000;
const MAX_ID = 256;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown, max = MAX_ID): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max && !/\p{Cc}/u.test(v);
/** 100 parts of SNAPSHOT_PART_CONNS is far above one gateway process's connection cap. */
const MAX_SNAPSHOT_PARTS = 100;
const isSeq = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
const isStatus = (v: unknown) => STATUSES.includes(v as never);
const isName = (v: unknown) => typeof v === 'string' && v.length <= NAME_MAX;

export const isUserId = (v: unknown): v is string => isId(v, SUB_MAX);
export const isRoomId = (v: unknown): v is string => parseRoomId(v, MAX_ROOM_MEMBERS).ok;

function parse(text: string): Decoded<Obj> {
  try {
    const v: unknown = JSON.parse(text);
    return isObj(v) ? { ok: true, value: v } : { ok: false, problem: 'body: not a JSON object' };
  } catch {
    return { ok: false, problem: 'body: not JSON' };
  }
}

/** Why one delta is invalid, or undefined when it is valid. */
export function deltaProblem(d: unknown): string | undefined {
  if (!isObj(d)) return 'delta: not an object';
  if (!isId(d.conn)) return 'conn: missing or not an id';
  switch (d.k) {
    case 'connect':
      if (!isUserId(d.user)) return 'user: missing or not a user id';
      if (!isStatus(d.status)) return 'status: not online, away or dnd';
      return d.name === undefined || isName(d.name) ? undefined : 'name: not a string of a valid length';
    case 'disconnect':
      return undefined;
    case 'join':
    case 'leave':
      return isRoomId(d.room) ? undefined : 'room: not a valid room id';
    case 'status':
      return isStatus(d.status) ? undefined : 'status: not online, away or dnd';
    case 'name':
      return isName(d.name) ? undefined : 'name: not a string of a valid length';
    default:
      return 'k: unknown delta kind';
  }
}

/** The batch with its valid deltas, and one problem line per invalid delta. */
export function decodeBatch(text: string): Decoded<{ batch: PresenceDeltaBatch; problems: string[] }> {
  const p = parse(text);
  if (!p.ok) return p;
  const { gw, seq, deltas } = p.value;
  if (!isId(gw)) return { ok: false, problem: 'gw: missing or not an id' };
  if (!isSeq(seq)) return { ok: false, problem: 'seq: not a non-negative integer' };
  if (!Array.isArray(deltas)) return { ok: false, problem: 'deltas: not an array' };
  const valid: PresenceDelta[] = [];
  const problems: string[] = [];
  for (const d of deltas) {
    const problem = deltaProblem(d);
    if (problem) problems.push(problem);
    else valid.push(d as PresenceDelta);
  }
  const batch: PresenceDeltaBatch = { gw, deltas: valid };
  if (seq !== undefined) batch.seq = seq as number;
  return { ok: true, value: { batch, problems } };
}

export function decodeHeartbeat(text: string): Decoded<PresenceHeartbeat> {
  const p = parse(text);
  if (!p.ok) return p;
  const { gw, conns, digest, intervalMs, seq } = p.value;
  if (!isId(gw)) return { ok: false, problem: 'gw: missing or not an id' };
  if (!Number.isSafeInteger(conns) || (conns as number) < 0)
    return { ok: false, problem: 'conns: not a count' };
  if (typeof digest !== 'string' || digest.length > 64)
    return { ok: false, problem: 'digest: not a short string' };
  if (typeof intervalMs !== 'number' || !(intervalMs > 0))
    return { ok: false, problem: 'intervalMs: not positive' };
  if (!isSeq(seq)) return { ok: false, problem: 'seq: not a non-negative integer' };
  return { ok: true, value: p.value as unknown as PresenceHeartbeat };
}

/** A snapshot must be entirely valid: it replaces what is known of the gateway. */
export function decodeSnapshot(text: string): Decoded<PresenceSnapshot> {
  const p = parse(text);
  if (!p.ok) return p;
  const { gw, seq, conns, part, parts } = p.value;
  if (!isId(gw)) return { ok: false, problem: 'gw: missing or not an id' };
  if (!isSeq(seq)) return { ok: false, problem: 'seq: not a non-negative integer' };
  if (!Array.isArray(conns)) return { ok: false, problem: 'conns: not an array' };
  const n = parts ?? 1;
  if (!Number.isSafeInteger(n) || (n as number) < 1 || (n as number) > MAX_SNAPSHOT_PARTS) {
    return { ok: false, problem: `parts: not an integer from 1 to ${MAX_SNAPSHOT_PARTS}` };
  }
  if (!isSeq(part) || ((part as number | undefined) ?? 0) >= (n as number)) {
    return { ok: false, problem: 'part: not an integer below parts' };
  }
  for (const c of conns as unknown[]) {
    const problem = snapshotConnProblem(c);
    if (problem) return { ok: false, problem };
  }
  return { ok: true, value: p.value as unknown as PresenceSnapshot };
}

function snapshotConnProblem(c: unknown): string | undefined {
  if (!isObj(c)) return 'conns: an entry is not an object';
  const asConnect = deltaProblem({ ...c, k: 'connect' });
  if (asConnect) return asConnect;
  if (!Array.isArray(c.rooms) || !c.rooms.every(isRoomId)) return 'rooms: not a list of room ids';
  return undefined;
}

export function decodeInstanceBeat(text: string): Decoded<InstanceBeat> {
  const p = parse(text);
  if (!p.ok) return p;
  const { id, startedAt, ready } = p.value;
  if (!isId(id) || typeof startedAt !== 'number' || typeof ready !== 'boolean')
    return { ok: false, problem: 'instance: needs id, startedAt and ready' };
  return { ok: true, value: p.value as unknown as InstanceBeat };
}

export function decodeRequest(text: string): Decoded<PresenceRequest> {
  const p = parse(text);
  if (!p.ok) return p;
  const r = p.value;
  switch (r.op) {
    case 'room':
      return isRoomId(r.room)
        ? { ok: true, value: { op: 'room', room: r.room } }
        : bad('room: not a valid room id');
    case 'user':
      return isUserId(r.user)
        ? { ok: true, value: { op: 'user', user: r.user } }
        : bad('user: not a valid user id');
    case 'users':
      if (!Array.isArray(r.users) || r.users.length > MAX_LIST || !r.users.every(isUserId))
        return bad(`users: not a list of at most ${MAX_LIST} user ids`);
      return { ok: true, value: { op: 'users', users: r.users } };
    default:
      return bad('op: must be room, user or users');
  }
}

const bad = (problem: string): Decoded<never> => ({ ok: false, problem });
