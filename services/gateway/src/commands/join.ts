import { canJoin } from '@parley/auth';
import {
  chatFrame,
  type HistoryResults,
  type JoinFrame,
  type LeaveFrame,
  type RequestId,
  Subjects,
} from '@parley/protocol';
import type { Conn } from '../connection.ts';
import { ask, type Ctx, fail } from '../context.ts';
import { topics } from '../fanout.ts';
import { type Recovery, RecoveryUnavailable, recover } from '../recovery.ts';
import { limitHit, roomOf } from './guard.ts';

/**
 * join: subscribe (confirmed by NATS) -> buffer live traffic -> read the replay or the last seq ->
 * send replay, `joined`, then buffered messages newer than the cursor -> subscribe the socket to the
 * room's topic. The last three steps run in one event-loop turn, so no message can fall between.
 */
export async function join(ctx: Ctx, conn: Conn, f: JoinFrame): Promise<void> {
  if (!canJoin(conn.identity, roomOf(ctx, f.room)))
    return fail(ctx, conn, f.id, 'forbidden', `you may not join ${f.room}`);
  if (conn.joining.has(f.room))
    return fail(ctx, conn, f.id, 'bad_request', `a join of ${f.room} is in progress`);
  const rejoin = conn.rooms.has(f.room);
  if (!rejoin && conn.rooms.size + conn.joining.size >= ctx.cfg.roomsPerConnection) {
    return fail(
      ctx,
      conn,
      f.id,
      'forbidden',
      `at most ${ctx.cfg.roomsPerConnection} rooms per connection; leave one first`,
    );
  }
  if (!conn.takeRequest(ctx.cfg.requestsPerSecond))
    return limitHit(ctx, conn, f.id, 'join', 'too many joins');
  conn.startJoining(f.room);
  if (rejoin) unsubscribeSocket(conn, f.room);
  else {
    try {
      await ctx.fanout.acquire(f.room);
    } catch {
      conn.endJoining(f.room);
      return fail(ctx, conn, f.id, 'unavailable', 'cannot subscribe to the room (NATS unavailable)');
    }
  }
  const joiner = ctx.fanout.startJoin(f.room);
  let replay: Recovery | undefined;
  let cursor = 0;
  try {
    if (f.since === undefined) cursor = await ctx.bus.chat.lastSeq(f.room);
    else replay = await recover(ctx.bus.chat, historyAfter(ctx), f.room, f.since, f.epoch, ctx.cfg.replayCap);
    if (replay && !replay.recovered) cursor = await ctx.bus.chat.lastSeq(f.room);
  } catch (e) {
    ctx.fanout.endJoin(f.room, joiner);
    abandon(ctx, conn, f.room, rejoin);
    const why = e instanceof RecoveryUnavailable ? e.message : 'NATS unavailable';
    return fail(ctx, conn, f.id, 'unavailable', `join failed: ${why}`);
  }
  ctx.fanout.endJoin(f.room, joiner);
  if (conn.closed) return abandon(ctx, conn, f.room, rejoin);
  conn.endJoining(f.room);
  const roomJson = ctx.fanout.roomJson(f.room);
  if (replay?.recovered) {
    for (const m of replay.messages) conn.sendText(chatFrame(m, roomJson));
    cursor = replay.messages.at(-1)?.seq ?? f.since ?? 0;
  }
  if (replay)
    ctx.metrics.recoveries.inc({
      tier: replay.tier,
      result: replay.recovered ? 'recovered' : 'not_recovered',
    });
  sendJoined(ctx, conn, f.id, f.room, cursor, replay);
  for (const m of joiner.buffer) {
    if (m.seq <= cursor) continue;
    conn.sendText(chatFrame(m, roomJson));
    cursor = m.seq;
  }
  conn.ws.subscribe(topics.chat(f.room));
  if (!conn.congested) conn.ws.subscribe(topics.eph(f.room));
  if (!rejoin) {
    conn.addRoom(f.room);
    ctx.metrics.joins.inc();
    ctx.presence.delta({ k: 'join', conn: conn.id, room: f.room });
  }
}

function sendJoined(
  ctx: Ctx,
  conn: Conn,
  id: RequestId | undefined,
  room: string,
  seq: number,
  replay?: Recovery,
): void {
  const frame = { type: 'joined' as const, room, seq, epoch: ctx.bus.chat.epoch };
  conn.reply(id, replay ? { ...frame, recovered: replay.recovered } : frame);
}

function historyAfter(ctx: Ctx) {
  return (room: string, after: number, limit: number) =>
    ask<HistoryResults['after']>(ctx, Subjects.historyQuery, { op: 'after', room, after, limit });
}

/** Undoes a join that did not complete (failure, or the socket closed meanwhile). */
function abandon(ctx: Ctx, conn: Conn, room: string, rejoin: boolean): void {
  conn.endJoining(room);
  if (rejoin) {
    conn.removeRoom(room);
    ctx.presence.delta({ k: 'leave', conn: conn.id, room });
  }
  ctx.fanout.release(room);
}

function unsubscribeSocket(conn: Conn, room: string): void {
  if (conn.closed) return;
  conn.ws.unsubscribe(topics.chat(room));
  conn.ws.unsubscribe(topics.eph(room));
}

export function leave(ctx: Ctx, conn: Conn, f: LeaveFrame): void {
  if (!conn.rooms.has(f.room) && !canJoin(conn.identity, roomOf(ctx, f.room)))
    return fail(ctx, conn, f.id, 'forbidden', `you may not use ${f.room}`);
  if (!conn.rooms.has(f.room)) return fail(ctx, conn, f.id, 'not_joined', `not joined to ${f.room}`);
  leaveRoom(ctx, conn, f.room);
  conn.reply(f.id, { type: 'left', room: f.room });
}

/** Leaves one room; also used for every room when a connection closes. */
export function leaveRoom(ctx: Ctx, conn: Conn, room: string): void {
  conn.removeRoom(room);
  unsubscribeSocket(conn, room);
  ctx.fanout.release(room);
  ctx.presence.delta({ k: 'leave', conn: conn.id, room });
}
