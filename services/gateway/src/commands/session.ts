import { isAuthError } from '@parley/auth';
import {
  CloseCodes,
  type PingFrame,
  type ProfileFrame,
  type RefreshFrame,
  type StatusFrame,
  Subjects,
  type UserEvent,
} from '@parley/protocol';
import type { Conn } from '../connection.ts';
import { type Ctx, fail } from '../context.ts';

export function ping(_ctx: Ctx, conn: Conn, f: PingFrame): void {
  conn.reply(f.id, { type: 'pong', serverTime: Date.now() });
}

/** Status is per connection; presence aggregates a user's connections and emits presence.update. */
export function status(ctx: Ctx, conn: Conn, f: StatusFrame): void {
  conn.status = f.status;
  ctx.presence.delta({ k: 'status', conn: conn.id, status: f.status });
  conn.reply(f.id, { type: 'ok' });
}

/**
 * A display name applies to every live connection of the user, on every gateway: it goes out on
 * user.<id>, and each gateway (this one included) updates its connections when it arrives.
 */
export function profile(ctx: Ctx, conn: Conn, f: ProfileFrame): void {
  const ev: UserEvent = { kind: 'name', name: f.name };
  ctx.bus.publish(Subjects.user(conn.userId), JSON.stringify(ev));
  applyName(ctx, conn.userId, f.name);
  conn.reply(f.id, { type: 'ok' });
}

/** Sets the name on the user's local connections; idempotent, so the echo of our own event is a no-op. */
export function applyName(ctx: Ctx, userId: string, name: string): void {
  for (const c of ctx.users.get(userId) ?? []) {
    if (c.name === name) continue;
    c.name = name;
    ctx.presence.delta({ k: 'name', conn: c.id, name });
  }
}

/** A new token for the same user extends the connection; anything else ends it with 4001. */
export async function refresh(ctx: Ctx, conn: Conn, f: RefreshFrame): Promise<void> {
  try {
    const id = await ctx.verifier.verify(f.token);
    if (id.userId !== conn.userId) {
      fail(ctx, conn, f.id, 'forbidden', 'refresh token is for another user');
    } else {
      conn.identity = id;
      return conn.reply(f.id, { type: 'ok' });
    }
  } catch (e) {
    fail(ctx, conn, f.id, 'forbidden', `refresh refused: ${isAuthError(e) ? e.message : 'invalid token'}`);
  }
  conn.end(CloseCodes.unauthorized.code, 'refresh refused');
}
