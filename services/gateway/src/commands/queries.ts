/**
 * Frames answered by the other services over NATS request/reply. The gateway checks permissions
 * (token patterns and user-limited rooms) before asking, so services can trust the user id.
 */
import { canJoin } from '@parley/auth';
import {
  type ConversationsFrame,
  type HistoryFrame,
  type HistoryResults,
  MAX_PAGE,
  type NotificationsReadFrame,
  type NotifyResults,
  type PresenceFrame,
  type PresenceResults,
  type ReadFrame,
  Subjects,
  type UnreadFrame,
  type UserEvent,
  type WatchFrame,
} from '@parley/protocol';
import type { Conn } from '../connection.ts';
import { askOrFail, type Ctx, fail } from '../context.ts';
import { limitHit, roomOf } from './guard.ts';

const DEFAULT_PAGE = 50;

function allowed(ctx: Ctx, conn: Conn, id: HistoryFrame['id'], room: string): boolean {
  if (!conn.takeRequest(ctx.cfg.requestsPerSecond)) {
    limitHit(ctx, conn, id, 'request', 'too many requests');
    return false;
  }
  if (canJoin(conn.identity, roomOf(ctx, room))) return true;
  fail(ctx, conn, id, 'forbidden', `you may not read ${room}`);
  return false;
}

export async function history(ctx: Ctx, conn: Conn, f: HistoryFrame): Promise<void> {
  if (!allowed(ctx, conn, f.id, f.room)) return;
  const req = {
    op: 'page',
    room: f.room,
    before: f.before,
    limit: Math.min(f.limit ?? DEFAULT_PAGE, MAX_PAGE),
  };
  const r = await askOrFail<HistoryResults['page']>(ctx, conn, f.id, Subjects.historyQuery, req);
  if (r) conn.reply(f.id, { type: 'history', room: f.room, messages: r.messages, more: r.more });
}

export async function presence(ctx: Ctx, conn: Conn, f: PresenceFrame): Promise<void> {
  if (!allowed(ctx, conn, f.id, f.room)) return;
  const r = await askOrFail<PresenceResults['room']>(ctx, conn, f.id, Subjects.presenceQuery, {
    op: 'room',
    room: f.room,
  });
  if (r) conn.reply(f.id, { type: 'presence', room: f.room, users: r.users, count: r.count });
}

/**
 * Stores the read marker, then tells the user's other devices and the room's members. The marker
 * is monotonic in history, so the broadcast carries the stored seq, not the requested one.
 */
export async function read(ctx: Ctx, conn: Conn, f: ReadFrame): Promise<void> {
  if (!allowed(ctx, conn, f.id, f.room)) return;
  const req = { op: 'read', user: conn.userId, room: f.room, seq: f.seq };
  const r = await askOrFail<HistoryResults['read']>(ctx, conn, f.id, Subjects.historyQuery, req);
  if (!r) return;
  conn.reply(f.id, { type: 'ok' });
  const frame = JSON.stringify({ type: 'read', room: f.room, userId: conn.userId, seq: r.seq });
  const ev: UserEvent = { kind: 'frame', frame };
  ctx.bus.publish(Subjects.user(conn.userId), JSON.stringify(ev));
  if (conn.rooms.has(f.room)) ctx.fanout.publishEphemeral(f.room, frame, conn.ws);
}

export async function unread(ctx: Ctx, conn: Conn, f: UnreadFrame): Promise<void> {
  if (!conn.takeRequest(ctx.cfg.requestsPerSecond))
    return limitHit(ctx, conn, f.id, 'request', 'too many requests');
  const denied = f.rooms.find((room) => !canJoin(conn.identity, roomOf(ctx, room)));
  if (denied !== undefined) return fail(ctx, conn, f.id, 'forbidden', `you may not read ${denied}`);
  const req = { op: 'unread', user: conn.userId, rooms: f.rooms };
  const r = await askOrFail<HistoryResults['unread']>(ctx, conn, f.id, Subjects.historyQuery, req);
  if (r) conn.reply(f.id, { type: 'unread', counts: r.counts });
}

export async function conversations(ctx: Ctx, conn: Conn, f: ConversationsFrame): Promise<void> {
  if (!conn.takeRequest(ctx.cfg.requestsPerSecond))
    return limitHit(ctx, conn, f.id, 'request', 'too many requests');
  const req = {
    op: 'conversations',
    user: conn.userId,
    before: f.before,
    limit: Math.min(f.limit ?? 20, MAX_PAGE),
  };
  const r = await askOrFail<HistoryResults['conversations']>(ctx, conn, f.id, Subjects.historyQuery, req);
  if (r) conn.reply(f.id, { type: 'conversations', items: r.items, more: r.more });
}

export async function notificationsRead(ctx: Ctx, conn: Conn, f: NotificationsReadFrame): Promise<void> {
  if (!conn.takeRequest(ctx.cfg.requestsPerSecond))
    return limitHit(ctx, conn, f.id, 'request', 'too many requests');
  const req = { op: 'read', user: conn.userId, ids: f.ids };
  const r = await askOrFail<NotifyResults['read']>(ctx, conn, f.id, Subjects.notifyQuery, req);
  if (r) conn.reply(f.id, { type: 'ok' });
}

/**
 * Contacts: the socket subscribes to each watched user's status topic (fed by one NATS
 * subscription per watched user on this gateway), then gets the current statuses once.
 */
export async function watch(ctx: Ctx, conn: Conn, f: WatchFrame): Promise<void> {
  if (!conn.takeRequest(ctx.cfg.requestsPerSecond))
    return limitHit(ctx, conn, f.id, 'request', 'too many requests');
  ctx.fanout.watch(conn, f.users);
  const r = await askOrFail<PresenceResults['users']>(ctx, conn, f.id, Subjects.presenceQuery, {
    op: 'users',
    users: f.users,
  });
  if (!r) return;
  conn.reply(f.id, { type: 'ok' });
  for (const userId of f.users)
    conn.send({ type: 'presence.user', userId, status: r.statuses[userId] ?? 'offline' });
}
