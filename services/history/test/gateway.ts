/**
 * Publishing the way users do: WebSocket clients through an in-process gateway on the real NATS,
 * each publish answered by an `ack` carrying the message's seq. The gateway's per-connection
 * publish limit (10/s, burst 20 by default) is raised for this gateway only, so a few connections
 * can keep many publishes in flight.
 */
import type { ServerFrame } from '@parley/protocol';
import { type WsClient, wsClient } from '@parley/testkit';
// The SDK's test helper starts a gateway the same way; one copy of it, not two.
import { devToken, startGateway } from '../../../libs/client/test/gateways.ts';

const HIGH = '1000000';

export function startTestGateway(natsUrl: string) {
  return startGateway(natsUrl, 0, { LIMIT_PUBLISH_PER_SECOND: HIGH, LIMIT_PUBLISH_BURST: HIGH });
}

/** What one acked publish stored, as the history must return it. */
export interface Published {
  room: string;
  seq: number;
  msgId: string;
  from: string;
  body: string;
  clientMsgId: string;
}

export interface PublishPlan {
  /** Connections, one user each. */
  clients: number;
  /** Publishes per connection. */
  perClient: number;
  /** Publishes each connection keeps in flight. */
  window: number;
}

/**
 * Publishes clients × perClient messages. Connection k joins rooms of two neighbouring slices of
 * `rooms`, so every room gets messages from two users, evenly (perClient × clients / rooms each)
 * and interleaved. A publish answered `unavailable` (NATS slow under load) is sent again with the
 * same clientMsgId, which the gateway acks with the original seq if the first one was stored.
 * Resolves with every ack, by msgId.
 */
export async function publishThroughGateway(
  url: string,
  rooms: string[],
  plan: PublishPlan = { clients: 10, perClient: 1000, window: 50 },
): Promise<Map<string, Published>> {
  const slice = rooms.length / plan.clients;
  if (!Number.isInteger(slice)) throw new Error('rooms must split evenly over the clients');
  const acks = new Map<string, Published>();
  const clients: WsClient[] = [];
  try {
    await Promise.all(
      Array.from({ length: plan.clients }, async (_, k) => {
        const user = `u${k}`;
        const c = await wsClient(url, { token: await devToken(user), timeoutMs: 15_000 });
        clients.push(c);
        const mine = [k, (k + 1) % plan.clients].flatMap((s) => rooms.slice(s * slice, (s + 1) * slice));
        for (const room of mine) await expectReply(c, { type: 'join', room }, 'joined');
        let next = 0;
        const lane = async () => {
          for (let i = next++; i < plan.perClient; i = next++) {
            const room = mine[i % mine.length]!;
            const clientMsgId = `c${k}-${i}`;
            const body = `m ${k}-${i}`;
            const ack = await publishAcked(c, { type: 'publish', room, body, clientMsgId });
            acks.set(ack.msgId, { room, seq: ack.seq, msgId: ack.msgId, from: user, body, clientMsgId });
          }
        };
        await Promise.all(Array.from({ length: plan.window }, lane));
      }),
    );
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
  }
  return acks;
}

type Ack = Extract<ServerFrame, { type: 'ack' }>;

async function publishAcked(c: WsClient, frame: Record<string, unknown>): Promise<Ack> {
  for (let attempt = 1; ; attempt++) {
    const reply = await c.request(frame, 30_000);
    if (reply.type === 'ack') return reply;
    if (reply.type === 'error' && reply.code === 'unavailable' && attempt < 5) continue;
    throw new Error(`publish ${JSON.stringify(frame)}: expected ack, got ${JSON.stringify(reply)}`);
  }
}

async function expectReply(c: WsClient, frame: Record<string, unknown>, type: ServerFrame['type']) {
  const reply = await c.request(frame, 15_000);
  if (reply.type !== type) throw new Error(`${JSON.stringify(frame)}: got ${JSON.stringify(reply)}`);
  return reply;
}
