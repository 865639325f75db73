/**
 * The notification request (ARCHITECTURE §5), shared by the HTTP API and the Kafka ingress: one
 * validator that never throws and names the field at fault, so both paths refuse the same inputs
 * with the same words. openapi.yaml describes exactly these rules.
 */
import { SUB_MAX } from '@parley/auth';
import { parseRoomId } from '@parley/protocol';

export type Target = { users: string[] } | { room: string } | { all: true };

export interface NotifyInput {
  to: Target;
  title: string;
  body: string;
  data?: unknown;
  ttlSeconds?: number;
  idempotencyKey?: string;
}

export type Parsed = { ok: true; input: NotifyInput } | { ok: false; error: string };

export const TITLE_MAX = 200;
export const BODY_MAX = 4000;
export const KEY_MAX = 200;
/** One year: longer-lived notices belong somewhere other than an inbox. */
export const TTL_MAX_SECONDS = 365 * 24 * 3600;

const FIELDS = new Set(['to', 'title', 'body', 'data', 'ttlSeconds', 'idempotencyKey']);
const TARGETS = new Set(['users', 'room', 'all']);

class Invalid extends Error {}
const bad = (field: string, problem: string): never => {
  throw new Invalid(`${field}: ${problem}`);
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function text(v: unknown, field: string, max: number, min = 1): string {
  if (v === undefined) return bad(field, 'is required');
  if (typeof v !== 'string') return bad(field, 'must be a string');
  if (v.length < min) return bad(field, 'must not be empty');
  if (v.length > max) return bad(field, `must be at most ${max} characters`);
  return v;
}

function target(v: unknown, maxUsers: number): Target {
  if (!isObject(v)) return bad('to', 'must be an object with one of users, room, all');
  const keys = Object.keys(v);
  const unknown = keys.find((k) => !TARGETS.has(k));
  if (unknown !== undefined) bad(`to.${unknown}`, 'unknown field');
  if (keys.length !== 1) bad('to', 'must have exactly one of users, room, all');
  if ('all' in v) {
    if (v.all !== true) bad('to.all', 'must be true');
    return { all: true };
  }
  if ('room' in v) {
    const parsed = parseRoomId(v.room);
    if (!parsed.ok) return bad('to.room', parsed.message);
    return { room: parsed.room.id };
  }
  const users = v.users;
  if (!Array.isArray(users)) return bad('to.users', 'must be an array of user ids');
  if (users.length === 0) bad('to.users', 'must not be empty');
  if (users.length > maxUsers) bad('to.users', `must hold at most ${maxUsers} user ids`);
  return { users: [...new Set(users.map((u, i) => text(u, `to.users[${i}]`, SUB_MAX)))] };
}

/** Validates a decoded JSON value. `maxUsers` bounds to.users (the request's own fan-out list). */
export function parseNotifyInput(value: unknown, maxUsers: number): Parsed {
  try {
    if (!isObject(value)) return bad('request', 'must be a JSON object');
    const unknown = Object.keys(value).find((k) => !FIELDS.has(k));
    if (unknown !== undefined) bad(unknown, 'unknown field');
    if (value.to === undefined) bad('to', 'is required');
    const input: NotifyInput = {
      to: target(value.to, maxUsers),
      title: text(value.title, 'title', TITLE_MAX),
      body: text(value.body, 'body', BODY_MAX, 0),
    };
    if (value.data !== undefined) input.data = value.data;
    const ttl = value.ttlSeconds;
    if (ttl !== undefined) {
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > TTL_MAX_SECONDS)
        bad('ttlSeconds', `must be an integer from 1 to ${TTL_MAX_SECONDS}`);
      input.ttlSeconds = ttl as number;
    }
    if (value.idempotencyKey !== undefined)
      input.idempotencyKey = text(value.idempotencyKey, 'idempotencyKey', KEY_MAX);
    return { ok: true, input };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.message };
    throw e;
  }
}

/** Parses JSON text, then validates; invalid JSON is reported against `request`. */
export function parseNotifyJson(textValue: string, maxUsers: number): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(textValue);
  } catch (e) {
    return { ok: false, error: `request: invalid JSON (${(e as Error).message})` };
  }
  return parseNotifyInput(value, maxUsers);
}
