import { canJoin } from '@parley/auth';
import type { TypingFrame } from '@parley/protocol';
import type { Conn } from '../connection.ts';
import { type Ctx, fail } from '../context.ts';
import { limitHit, roomOf } from './guard.ts';

/** At most one `on` event per user, room and this interval; repeats in between only extend the timer. */
export const TYPING_COALESCE_MS = 2000;
/** Silence after which `on: false` is sent for the user. */
export const TYPING_AUTO_OFF_MS = 5000;

interface TypingState {
  sentAt: number;
  timer: NodeJS.Timeout;
}

const typing = new WeakMap<Conn, Map<string, TypingState>>();

export function typingFrame(ctx: Ctx, conn: Conn, f: TypingFrame): void {
  // Checked before membership, so a room the user may never enter answers forbidden, not not_joined.
  if (!canJoin(conn.identity, roomOf(ctx, f.room)))
    return fail(ctx, conn, f.id, 'forbidden', `you may not use ${f.room}`);
  if (!conn.rooms.has(f.room)) return fail(ctx, conn, f.id, 'not_joined', `join ${f.room} before typing`);
  // Only `on` is limited: an `off` ends traffic, and refusing it would leave others seeing a typist.
  if (f.on && !conn.takeTyping(ctx.cfg.typingPerSecond)) {
    return limitHit(ctx, conn, f.id, 'typing', `at most ${ctx.cfg.typingPerSecond} typing frames per second`);
  }
  const rooms = typing.get(conn) ?? new Map<string, TypingState>();
  typing.set(conn, rooms);
  const state = rooms.get(f.room);
  if (!f.on) {
    if (state) stop(ctx, conn, f.room, rooms, state);
    return;
  }
  const now = Date.now();
  if (state) {
    state.timer.refresh();
    if (now - state.sentAt < TYPING_COALESCE_MS) return;
    state.sentAt = now;
  } else {
    const timer = setTimeout(() => {
      const s = rooms.get(f.room);
      if (s) stop(ctx, conn, f.room, rooms, s);
    }, TYPING_AUTO_OFF_MS);
    timer.unref?.();
    rooms.set(f.room, { sentAt: now, timer });
  }
  emit(ctx, conn, f.room, true);
}

/** Ends typing in every room (connection closed or left). */
export function clearTyping(ctx: Ctx, conn: Conn, room?: string): void {
  const rooms = typing.get(conn);
  if (!rooms) return;
  for (const [r, s] of rooms) if (room === undefined || r === room) stop(ctx, conn, r, rooms, s);
}

function stop(ctx: Ctx, conn: Conn, room: string, rooms: Map<string, TypingState>, s: TypingState): void {
  clearTimeout(s.timer);
  rooms.delete(room);
  emit(ctx, conn, room, false);
}

function emit(ctx: Ctx, conn: Conn, room: string, on: boolean): void {
  const frame = JSON.stringify({ type: 'typing', room, userId: conn.userId, on });
  ctx.fanout.publishEphemeral(room, frame, conn.closed ? undefined : conn.ws);
}
