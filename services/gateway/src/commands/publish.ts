import { canPublish } from '@parley/auth';
import { encodeChatPayload, type PublishFrame } from '@parley/protocol';
import type { Conn } from '../connection.ts';
import { type Ctx, fail } from '../context.ts';
import { limitHit, roomOf } from './guard.ts';

/**
 * publish -> JetStream append -> ack. The ack is sent only after the PubAck: an acked message is
 * durable. The dedupe key includes the room so a clientMsgId reused in another room is not taken
 * for a retry.
 */
export async function publish(ctx: Ctx, conn: Conn, f: PublishFrame): Promise<void> {
  if (!canPublish(conn.identity, roomOf(ctx, f.room)))
    return fail(ctx, conn, f.id, 'forbidden', `you may not publish to ${f.room}`);
  if (!conn.rooms.has(f.room)) return fail(ctx, conn, f.id, 'not_joined', `join ${f.room} before publishing`);
  if (!conn.takePublish(ctx.cfg.publishPerSecond, ctx.cfg.publishBurst)) {
    return limitHit(ctx, conn, f.id, 'publish', `at most ${ctx.cfg.publishPerSecond} publishes per second`);
  }
  const msgId = `${conn.userId}:${f.room}:${f.clientMsgId}`;
  const payload = encodeChatPayload({
    msgId,
    from: conn.userId,
    ...(conn.name === undefined ? {} : { name: conn.name }),
    body: f.body,
    ts: Date.now(),
    clientMsgId: f.clientMsgId,
  });
  const started = performance.now();
  try {
    const r = await ctx.bus.chat.append(f.room, payload, msgId);
    ctx.metrics.publishAck.observe(performance.now() - started);
    conn.reply(f.id, { type: 'ack', room: f.room, seq: r.seq, msgId, duplicate: r.duplicate });
  } catch (e) {
    ctx.log.warn({ err: e, connId: conn.id, room: f.room }, 'publish failed');
    fail(
      ctx,
      conn,
      f.id,
      'unavailable',
      'message not stored (NATS unavailable, or the history feed is behind); retry with the same clientMsgId',
    );
  }
}
