/**
 * The one validator for client frames. `decodeClientFrame` never throws: it returns a typed frame
 * or the error code and a message naming the bad field, plus the request id when one could be read
 * so the `error` reply can echo it.
 */
import type { ErrorCode } from './codes.ts';
import {
  type ClientFrame,
  type ClientFrameType,
  DEFAULT_LIMITS,
  type Limits,
  type RequestId,
  STATUSES,
} from './frames.ts';
import { DEFAULT_MAX_ROOM_MEMBERS, parseRoomId } from './rooms.ts';

export interface DecodeOptions {
  limits?: Pick<Limits, 'bodyChars' | 'bodyObjectBytes'>;
  maxRoomMembers?: number;
}

export type Decoded =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: Extract<ErrorCode, 'bad_request' | 'too_large'>; message: string; id?: RequestId };

/** Largest list in unread / notifications.read / watch frames. */
export const MAX_LIST = 1000;
export const MAX_PAGE = 100;
export const NAME_MAX = 64;

class FieldError extends Error {
  constructor(
    message: string,
    readonly code: 'bad_request' | 'too_large' = 'bad_request',
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;
type Check = (o: Obj, opts: Required<DecodeOptions>) => void;

const str = (o: Obj, k: string, max = 256, min = 1) => {
  const v = o[k];
  if (typeof v !== 'string') throw new FieldError(`${k} must be a string`);
  if (v.length < min || v.length > max) throw new FieldError(`${k} must be ${min}-${max} characters`);
};
const optStr = (o: Obj, k: string, max = 256) => o[k] === undefined || str(o, k, max);
const int = (o: Obj, k: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new FieldError(`${k} must be an integer`);
  if (v < min || v > max) throw new FieldError(`${k} must be between ${min} and ${max}`);
};
const optInt = (o: Obj, k: string, min: number, max?: number) => o[k] === undefined || int(o, k, min, max);
const bool = (o: Obj, k: string) => {
  if (typeof o[k] !== 'boolean') throw new FieldError(`${k} must be a boolean`);
};
const room = (o: Obj, k: string, maxMembers: number) => {
  const r = parseRoomId(o[k], maxMembers);
  if (!r.ok) throw new FieldError(k === 'room' ? r.message : `${k}: ${r.message}`);
};
const list = (o: Obj, k: string, each: (v: unknown, i: number) => void) => {
  const v = o[k];
  if (!Array.isArray(v)) throw new FieldError(`${k} must be an array`);
  if (v.length > MAX_LIST) throw new FieldError(`${k} has more than ${MAX_LIST} entries`);
  v.forEach(each);
};
const itemStr = (k: string) => (v: unknown, i: number) => {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256)
    throw new FieldError(`${k}[${i}] must be a string of 1-256 characters`);
};

/** Display names: 1-64 printable characters; names are data, never markup, but control characters are refused. */
export function validateName(v: unknown): string | undefined {
  if (typeof v !== 'string') return 'name must be a string';
  const chars = [...v];
  if (chars.length < 1 || chars.length > NAME_MAX) return `name must be 1-${NAME_MAX} characters`;
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(v)) return 'name must not contain control characters';
  if (v.trim().length === 0) return 'name must not be blank';
  return undefined;
}

/** UTF-8 length without allocating (the SDK runs in browsers too: no Buffer). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const body: Check = (o, { limits }) => {
  const v = o.body;
  if (typeof v === 'string') {
    if (v.length === 0) throw new FieldError('body must not be empty');
    if (v.length > limits.bodyChars)
      throw new FieldError(`body is over ${limits.bodyChars} characters`, 'too_large');
    return;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new FieldError('body must be a string or a JSON object');
  if (utf8Length(JSON.stringify(v)) > limits.bodyObjectBytes) {
    throw new FieldError(`body is over ${limits.bodyObjectBytes} bytes`, 'too_large');
  }
};

const checks: Record<ClientFrameType, Check> = {
  join: (o, { maxRoomMembers }) => {
    room(o, 'room', maxRoomMembers);
    optInt(o, 'since', 0);
    optStr(o, 'epoch', 64);
  },
  leave: (o, { maxRoomMembers }) => room(o, 'room', maxRoomMembers),
  publish: (o, opts) => {
    room(o, 'room', opts.maxRoomMembers);
    str(o, 'clientMsgId', 64);
    body(o, opts);
  },
  typing: (o, { maxRoomMembers }) => {
    room(o, 'room', maxRoomMembers);
    bool(o, 'on');
  },
  history: (o, { maxRoomMembers }) => {
    room(o, 'room', maxRoomMembers);
    optInt(o, 'before', 1);
    optInt(o, 'limit', 1, MAX_PAGE);
  },
  presence: (o, { maxRoomMembers }) => room(o, 'room', maxRoomMembers),
  status: (o) => {
    if (!STATUSES.includes(o.status as never))
      throw new FieldError(`status must be one of ${STATUSES.join(', ')}`);
  },
  ping: () => {},
  refresh: (o) => str(o, 'token', 16 * 1024),
  'notifications.read': (o) => list(o, 'ids', itemStr('ids')),
  read: (o, { maxRoomMembers }) => {
    room(o, 'room', maxRoomMembers);
    int(o, 'seq', 0);
  },
  unread: (o, { maxRoomMembers }) =>
    list(o, 'rooms', (v, i) => {
      const r = parseRoomId(v, maxRoomMembers);
      if (!r.ok) throw new FieldError(`rooms[${i}]: ${r.message}`);
    }),
  profile: (o) => {
    const problem = validateName(o.name);
    if (problem) throw new FieldError(problem);
  },
  conversations: (o) => {
    optInt(o, 'before', 1);
    optInt(o, 'limit', 1, MAX_PAGE);
  },
  watch: (o) => list(o, 'users', itemStr('users')),
};

export const CLIENT_FRAME_TYPES = Object.keys(checks) as ClientFrameType[];

export function decodeClientFrame(text: string, options: DecodeOptions = {}): Decoded {
  const opts: Required<DecodeOptions> = {
    limits: options.limits ?? DEFAULT_LIMITS,
    maxRoomMembers: options.maxRoomMembers ?? DEFAULT_MAX_ROOM_MEMBERS,
  };
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_request', message: 'frame is not valid JSON' };
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    return { ok: false, code: 'bad_request', message: 'frame must be a JSON object' };
  }
  const obj = o as Obj;
  const rawId = obj.id;
  const idOk =
    rawId === undefined ||
    (typeof rawId === 'string' && rawId.length <= 64) ||
    (typeof rawId === 'number' && Number.isFinite(rawId));
  const id = idOk ? (rawId as RequestId | undefined) : undefined;
  const fail = (code: 'bad_request' | 'too_large', message: string): Decoded =>
    id === undefined ? { ok: false, code, message } : { ok: false, code, message, id };
  if (!idOk) return fail('bad_request', 'id must be a string of at most 64 characters or a number');
  const type = obj.type;
  if (typeof type !== 'string') return fail('bad_request', 'type must be a string');
  const check = Object.hasOwn(checks, type) ? checks[type as ClientFrameType] : undefined;
  if (!check) return fail('bad_request', `unknown frame type "${type.slice(0, 40)}"`);
  try {
    check(obj, opts);
  } catch (e) {
    if (e instanceof FieldError) return fail(e.code, `${type}: ${e.message}`);
    throw e;
  }
  return { ok: true, frame: obj as unknown as ClientFrame };
}
