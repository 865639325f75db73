/**
 * `notify.query` (queue group 'notify'): the gateway asks for a user's unread notifications on
 * connect and marks them read. The gateway has authenticated the user, so the user id is trusted.
 * After a read, every device of the user gets the updated notifications (`read: true`) live.
 *
 * Every store lookup goes through one process-wide `Limiter`, sized well below the Mongo driver's
 * pool. Without it a reconnect storm (thousands of users in a few `unreadMany` requests, each
 * lookup a collection scan on FerretDB) filled the pool's wait queue, and the inbox writes of
 * accepted notifications waited behind every queued lookup: the bench saw 202s and live frames
 * delayed by seconds to minutes. Lookups still queued when the asking gateway has given up
 * (`deadlineMs`) are dropped unrun.
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
import { DeadlineError, type Limiter } from './limiter.ts';
import type { NotifyMetrics } from './metrics.ts';

export interface QueryOptions {
  bus: Bus;
  inbox: Inbox;
  metrics: NotifyMetrics;
  log: Logger;
  unreadLimit: number;
  /** Shared by every query: bounds the store lookups in flight. */
  limiter: Limiter;
  /** A lookup not started this long after its request arrived is dropped (the gateway timed out). */
  deadlineMs: number;
}

type Result = NotifyResults[keyof NotifyResults];

export function serveQueries(o: QueryOptions): Subscription {
  return o.bus.subscribe(Subjects.notifyQuery, (msg) => void answer(o, msg), { queue: 'notify' });
}

async function answer(o: QueryOptions, msg: BusMsg): Promise<void> {
  const deadline = Date.now() + o.deadlineMs;
  let reply: ServiceReply<Result>;
  let op = 'invalid';
  let result = 'ok';
  try {
    const req = decode(msg.string());
    op = req.op;
    const value =
      req.op === 'unread'
        ? await unread(o, req, deadline)
        : req.op === 'unreadMany'
          ? await unreadMany(o, req, deadline)
          : await read(o, req, deadline);
    reply = { ok: true, result: value };
  } catch (e) {
    const code: ErrorCode = e instanceof BadQuery ? 'bad_request' : 'unavailable';
    result = e instanceof DeadlineError ? 'deadline' : code;
    if (result === 'unavailable') o.log.warn({ err: e, op }, 'notify query failed');
    reply = { ok: false, code, message: (e as Error).message };
  }
  o.metrics.queries.inc({ op, result });
  msg.respond(JSON.stringify(reply));
}

async function unread(o: QueryOptions, req: Extract<NotifyRequest, { op: 'unread' }>, deadline: number) {
  return o.limiter.run(() => o.inbox.unread(req.user, Math.min(req.limit, o.unreadLimit)), deadline);
}

/** One lookup per distinct user, all queued on the shared limiter (which bounds the parallelism). */
async function unreadMany(
  o: QueryOptions,
  req: Extract<NotifyRequest, { op: 'unreadMany' }>,
  deadline: number,
) {
  const byUser: NotifyResults['unreadMany']['byUser'] = {};
  const users = [...new Set(req.users)];
  const lookups = users.map(async (user) => {
    const page = await unread(o, { op: 'unread', user, limit: req.limit }, deadline);
    // unreadMany is the gateways' connect path: this samples unread-at-connect, once per user.
    o.metrics.unreadBacklog.observe(page.unread.length + page.more);
    byUser[user] = page;
  });
  // allSettled first: every queued lookup must have settled (run or been refused) before answering.
  const failed = (await Promise.allSettled(lookups)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { byUser };
}

/** Marks read, then syncs the user's devices with what changed (ids that were unread before). */
async function read(o: QueryOptions, req: Extract<NotifyRequest, { op: 'read' }>, deadline: number) {
  const unreadBefore = await o.limiter.run(
    async () => (await o.inbox.find(req.user, req.ids)).filter((n) => !n.read),
    deadline,
  );
  const updated = await o.limiter.run(() =>
    o.inbox.markRead(
      req.user,
      unreadBefore.map((n) => n.id),
    ),
  );
  o.metrics.markedRead.inc(updated);
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
