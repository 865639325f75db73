/**
 * `notify.query` (queue group 'notify'): the gateway asks for a user's unread notifications on
 * connect and marks them read. The gateway has authenticated the user, so the user id is trusted.
 * After a read, every device of the user gets the updated notifications (`read: true`) live.
 */
import type { Bus, BusMsg, Subscription } from '@parley/bus';
import type { Logger } from '@parley/log';
import {
  type ErrorCode,
  MAX_LIST,
  type NotifyRequest,
  type NotifyResults,
  type ServiceReply,
  Subjects,
} from '@parley/protocol';
import type { Inbox } from '@parley/store';
import { publishNotification } from './delivery.ts';
import type { NotifyMetrics } from './metrics.ts';

export interface QueryOptions {
  bus: Bus;
  inbox: Inbox;
  metrics: NotifyMetrics;
  log: Logger;
  unreadLimit: number;
}

type Result = NotifyResults[keyof NotifyResults];

export function serveQueries(o: QueryOptions): Subscription {
  return o.bus.subscribe(Subjects.notifyQuery, (msg) => void answer(o, msg), { queue: 'notify' });
}

async function answer(o: QueryOptions, msg: BusMsg): Promise<void> {
  let reply: ServiceReply<Result>;
  let op = 'invalid';
  try {
    const req = decode(msg.string());
    op = req.op;
    const result =
      req.op === 'unread'
        ? await unread(o, req)
        : req.op === 'unreadMany'
          ? await unreadMany(o, req)
          : await read(o, req);
    reply = { ok: true, result };
  } catch (e) {
    const code: ErrorCode = e instanceof BadQuery ? 'bad_request' : 'unavailable';
    if (code !== 'bad_request') o.log.warn({ err: e, op }, 'notify query failed');
    reply = { ok: false, code, message: (e as Error).message };
  }
  o.metrics.queries.inc({ op, result: reply.ok ? 'ok' : reply.code });
  msg.respond(JSON.stringify(reply));
}

async function unread(o: QueryOptions, req: Extract<NotifyRequest, { op: 'unread' }>) {
  const page = await o.inbox.unread(req.user, Math.min(req.limit, o.unreadLimit));
  o.metrics.unreadBacklog.observe(page.unread.length + page.more);
  return page;
}

/** Bounded parallelism: a reconnect storm batches thousands of users into a few requests. */
const UNREAD_MANY_CONCURRENCY = 16;

async function unreadMany(o: QueryOptions, req: Extract<NotifyRequest, { op: 'unreadMany' }>) {
  const byUser: NotifyResults['unreadMany']['byUser'] = {};
  const users = [...new Set(req.users)];
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const user = users[next++]!;
      byUser[user] = await unread(o, { op: 'unread', user, limit: req.limit });
    }
  };
  await Promise.all(Array.from({ length: Math.min(UNREAD_MANY_CONCURRENCY, users.length) }, worker));
  return { byUser };
}

/** Marks read, then syncs the user's devices with what changed (ids that were unread before). */
async function read(o: QueryOptions, req: Extract<NotifyRequest, { op: 'read' }>) {
  const unreadBefore = (await o.inbox.find(req.user, req.ids)).filter((n) => !n.read);
  const updated = await o.inbox.markRead(
    req.user,
    unreadBefore.map((n) => n.id),
  );
  for (const n of unreadBefore) publishNotification(o.bus, o.metrics, req.user, { ...n, read: true });
  return { updated };
}

class BadQuery extends Error {}

function decode(text: string): NotifyRequest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new BadQuery('notify query: invalid JSON');
  }
  const r = v as Partial<Record<string, unknown>>;
  if (r?.op === 'unreadMany') {
    const users = r.users;
    if (
      !Array.isArray(users) ||
      users.length > MAX_LIST ||
      !users.every((u) => typeof u === 'string' && u.length > 0)
    )
      throw new BadQuery(`users: must be an array of at most ${MAX_LIST} non-empty strings`);
    return { op: 'unreadMany', users, limit: positiveLimit(r.limit) };
  }
  if (typeof r?.user !== 'string' || r.user.length === 0)
    throw new BadQuery('user: must be a non-empty string');
  if (r.op === 'unread') return { op: 'unread', user: r.user, limit: positiveLimit(r.limit) };
  if (r.op === 'read') {
    const ids = r.ids;
    if (!Array.isArray(ids) || ids.length > MAX_LIST || !ids.every((id) => typeof id === 'string'))
      throw new BadQuery(`ids: must be an array of at most ${MAX_LIST} strings`);
    return { op: 'read', user: r.user, ids };
  }
  throw new BadQuery('op: must be unread, unreadMany or read');
}

function positiveLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
    throw new BadQuery('limit: must be a positive integer');
  return limit;
}
