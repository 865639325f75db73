import { CloseCodes, parseRoomId, type RequestId, type RoomId } from '@parley/protocol';
import type { Conn } from '../connection.ts';
import { type Ctx, fail } from '../context.ts';

/** A rate limit was hit: reply rate_limited, and close with 4008 once it becomes sustained abuse. */
export function limitHit(
  ctx: Ctx,
  conn: Conn,
  id: RequestId | undefined,
  kind: string,
  message: string,
): void {
  ctx.metrics.rateLimited.inc({ kind });
  if (conn.strike(ctx.cfg.abuseStrikes, ctx.cfg.abuseWindowMs)) {
    conn.end(CloseCodes.policy.code, 'sustained limit violations');
    return;
  }
  fail(ctx, conn, id, 'rate_limited', message);
}

/** The parsed id of a room the decoder already validated. */
export function roomOf(ctx: Ctx, id: string): RoomId {
  const r = parseRoomId(id, ctx.cfg.maxRoomMembers);
  if (!r.ok) throw new Error(`room ${id} passed decode but not parseRoomId: ${r.message}`);
  return r.room;
}
