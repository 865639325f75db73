/**
 * Walking skeleton on the real path: two gateways on one nats-server, members on both, 1,000
 * messages from several publishers. Every member sees every message once, in the same order, with
 * an unbroken seq/prev chain; every publish is acked once; a retried clientMsgId is a duplicate.
 */
import { uniquePrefix, type WsClient, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startGateway, type TestGateway, token } from './harness.ts';

const TOTAL = 1000;
const PUBLISHERS = 4;
let gws: TestGateway[] = [];

beforeAll(async () => {
  const natsUrl = inject('natsUrl');
  // Publish limits off for the burst; the limit itself is tested elsewhere.
  const env = { LIMIT_PUBLISH_PER_SECOND: '100000', LIMIT_PUBLISH_BURST: '100000' };
  gws = await Promise.all([startGateway({ natsUrl, env }), startGateway({ natsUrl, env })]);
});
afterAll(async () => {
  await Promise.all(gws.map((g) => g.stop()));
});

it('delivers 1,000 messages from 4 publishers on 2 gateways to every member, in one order, chained', async () => {
  const room = uniquePrefix('skeleton');
  const clients: WsClient[] = [];
  for (let i = 0; i < 6; i++) {
    const gw = gws[i % 2]!;
    const c = await wsClient(gw.url, { token: await token(`u${i}`) });
    const joined = await c.request({ type: 'join', room });
    expect(joined.type).toBe('joined');
    clients.push(c);
  }
  const publishers = clients.slice(0, PUBLISHERS);
  const acks = await Promise.all(
    publishers.map(async (c, p) => {
      const sent = [];
      for (let i = 0; i < TOTAL / PUBLISHERS; i++) {
        sent.push(
          c.request({ type: 'publish', room, body: `p${p}-${i}`, clientMsgId: `p${p}-${i}` }, 20_000),
        );
      }
      return Promise.all(sent);
    }),
  );
  const allAcks = acks.flat();
  expect(allAcks.every((a) => a.type === 'ack' && a.duplicate === false)).toBe(true);
  const ackedSeqs = new Set(allAcks.map((a) => (a as { seq: number }).seq));
  expect(ackedSeqs.size).toBe(TOTAL);

  for (const c of clients) {
    await c.waitFor(() => c.ofType('message').length >= TOTAL, 20_000, `${TOTAL} messages`);
  }
  const reference = clients[0]!.ofType('message').map((m) => m.seq);
  for (const c of clients) {
    const msgs = c.ofType('message');
    expect(msgs.length).toBe(TOTAL);
    expect(msgs.map((m) => m.seq)).toEqual(reference);
    for (let i = 1; i < msgs.length; i++) expect(msgs[i]!.prev).toBe(msgs[i - 1]!.seq);
    expect(new Set(msgs.map((m) => m.seq))).toEqual(ackedSeqs);
  }
  // Each publish acked exactly once: one ack per request id, none extra.
  for (const c of publishers) expect(c.ofType('ack').length).toBe(TOTAL / PUBLISHERS);

  const retry = await clients[0]!.request({ type: 'publish', room, body: 'p0-0', clientMsgId: 'p0-0' });
  expect(retry).toMatchObject({ type: 'ack', duplicate: true });
  const marker = await clients[1]!.request({ type: 'publish', room, body: 'marker', clientMsgId: 'marker' });
  expect(marker.type).toBe('ack');
  await clients[2]!.waitFor((f) => f.type === 'message' && f.clientMsgId === 'marker', 5000);
  expect(clients[2]!.ofType('message').length).toBe(TOTAL + 1);
  await Promise.all(clients.map((c) => c.close()));
});
