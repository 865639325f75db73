/**
 * The record on Kafka `chat.messages`, defined once for the bridge (encode) and the writer (decode).
 * Key: the room id (a room's messages stay in one partition, in stream order). Value: the JSON of
 * a ChatMessage without `prev` — `{"room","seq",...ChatPayload}` — i.e. exactly a StoredMessage.
 */
import type { ChatRecord } from '@parley/bus';
import { parseRoomId } from '@parley/protocol';
import type { StoredMessage } from '@parley/store';
import type { OutRecord } from '@parley/stream';

/**
 * Splices room and seq in front of the stored payload JSON: no parse, no re-serialisation on the
 * bridge's hot path. A payload that is not a JSON object yields a value the writer refuses (and
 * dead-letters), which is what should happen to it.
 */
export function encodeRecord(r: ChatRecord): OutRecord {
  return { key: r.room, value: `{"room":${JSON.stringify(r.room)},"seq":${r.seq},${r.data.slice(1)}` };
}

export type Decoded = { ok: true; msg: StoredMessage } | { ok: false; problem: string };

const isStr = (v: unknown): v is string => typeof v === 'string';

/** Parses and checks one record value; never throws. `maxMembers` bounds user-limited room ids. */
export function decodeRecord(key: string, value: string, maxMembers: number): Decoded {
  let o: unknown;
  try {
    o = JSON.parse(value);
  } catch {
    return { ok: false, problem: 'value: not JSON' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    return { ok: false, problem: 'value: not an object' };
  const m = o as Record<string, unknown>;
  const room = parseRoomId(m.room, maxMembers);
  if (!room.ok) return { ok: false, problem: `room: ${room.message}` };
  if (m.room !== key) return { ok: false, problem: 'key: differs from room' };
  const problem = fieldProblem(m);
  if (problem) return { ok: false, problem };
  const msg: StoredMessage = {
    room: m.room as string,
    seq: m.seq as number,
    msgId: m.msgId as string,
    from: m.from as string,
    body: m.body as StoredMessage['body'],
    ts: m.ts as number,
    clientMsgId: m.clientMsgId as string,
  };
  if (m.name !== undefined) msg.name = m.name as string;
  return { ok: true, msg };
}

function fieldProblem(m: Record<string, unknown>): string | undefined {
  if (!Number.isSafeInteger(m.seq) || (m.seq as number) < 1) return 'seq: must be a positive integer';
  if (!isStr(m.msgId) || m.msgId === '') return 'msgId: must be a non-empty string';
  if (!isStr(m.from) || m.from === '') return 'from: must be a non-empty string';
  if (m.name !== undefined && !isStr(m.name)) return 'name: must be a string';
  const body = m.body;
  if (!isStr(body) && (typeof body !== 'object' || body === null || Array.isArray(body)))
    return 'body: must be a string or an object';
  if (!Number.isFinite(m.ts)) return 'ts: must be a number';
  if (!isStr(m.clientMsgId)) return 'clientMsgId: must be a string';
  return undefined;
}
