/**
 * Backpressure by traffic class on real NATS: readers that stop reading (socket paused after join)
 * in a busy room. Typing aimed at a congested socket is dropped for it (its send buffer does not
 * grow), chat traffic is never skipped: the socket is closed with 4010 once its buffer passes
 * SEND_BUFFER_LIMIT, the process's memory stays bounded, and a reading member gets every message.
 */
import { uniquePrefix, type WsClient, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Conn } from '../src/connection.ts';
import { startGateway, type TestGateway, token } from './harness.ts';

const SEND_LIMIT = 64 * 1024;
const EPH_LIMIT = 8 * 1024;
const SLOW = 8;
const BODY = 'x'.repeat(4000);

let gw: TestGateway;
const clients: WsClient[] = [];
beforeAll(async () => {
  gw = await startGateway({
    natsUrl: inject('natsUrl'),
    env: {
      SEND_BUFFER_LIMIT: String(SEND_LIMIT),
      EPHEMERAL_BUFFER_LIMIT: String(EPH_LIMIT),
      LIMIT_PUBLISH_PER_SECOND: '100000',
      LIMIT_PUBLISH_BURST: '100000',
      LIMIT_TYPING_PER_SECOND: '100000',
    },
  });
});
afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

it('closes readers that stop reading with 4010, drops typing for them, and loses nothing for others', async () => {
  const room = uniquePrefix('slow');
  const connect = async (user: string) => {
    const c = await wsClient(gw.url, { token: await token(user) });
    clients.push(c);
    expect((await c.request({ type: 'join', room })).type).toBe('joined');
    return c;
  };
  const publisher = await connect('pub');
  const reader = await connect('reader');
  const typist = await connect('typist');
  const slow: WsClient[] = [];
  for (let i = 0; i < SLOW; i++) slow.push(await connect(`slow${i}`));
  const find = (c: WsClient): Conn | undefined =>
    [...gw.gateway.conns].find((k) => k.id === c.welcome.connId);
  const watched = find(slow[0]!);
  if (!watched) throw new Error('the watched connection is not on the gateway');
  for (const s of slow) s.ws.pause();

  let n = 0;
  const acked: number[] = [];
  const publishBatch = async (size: number) => {
    const replies = await Promise.all(
      Array.from({ length: size }, () =>
        publisher.request({ type: 'publish', room, body: BODY, clientMsgId: `m${n++}` }, 20_000),
      ),
    );
    for (const r of replies) {
      expect(r.type).toBe('ack');
      acked.push((r as { seq: number }).seq);
    }
  };

  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  let bufferedMax = 0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    if (!watched.closed) bufferedMax = Math.max(bufferedMax, watched.ws.getBufferedAmount());
  }, 10);
  try {
    // Phase 1: chat until the paused sockets' kernel buffers are full and uWS starts buffering,
    // stopping well below the 4010 limit so the socket is congested but still open.
    const dropped0 = await metric('parley_gateway_ephemeral_dropped_total');
    for (let i = 0; watched.ws.getBufferedAmount() < EPH_LIMIT * 2; i++) {
      if (i > 5000) throw new Error('the paused socket never buffered: is it really not reading?');
      await publishBatch(1);
    }
    const deadline = Date.now() + 2000;
    while (!watched.congested && Date.now() < deadline) await sleep(20);
    expect(watched.congested).toBe(true);
    expect(watched.closed).toBe(false);
    expect(await metric('parley_gateway_ephemeral_dropped_total')).toBeGreaterThan(dropped0);

    // Phase 2: a typing flood (on/off alternating, each one a real event) reaches the reader but
    // adds nothing to the congested socket's buffer.
    const before = watched.ws.getBufferedAmount();
    const FLOOD = 400;
    for (let i = 0; i < FLOOD; i++) typist.send({ type: 'typing', room, on: i % 2 === 0 });
    await reader.waitFor(
      () => reader.ofType('typing').filter((t) => t.userId === 'typist').length >= FLOOD,
      10_000,
      `${FLOOD} typing frames at the reader`,
    );
    expect(watched.closed).toBe(false);
    expect(watched.ws.getBufferedAmount() - before).toBeLessThan(1024);
    expect(typist.ofType('typing').filter((t) => t.userId === 'typist')).toEqual([]);

    // Phase 3: chat keeps flowing; every paused socket is cut off with 4010, never skipped.
    const closes0 = await metric('parley_gateway_slow_consumer_closes_total');
    const open = () => slow.filter((s) => find(s) !== undefined).length;
    for (let i = 0; open() > 0 && i < 200; i++) await publishBatch(20);
    await sleep(300);
    expect(open()).toBe(0);
    expect(await metric('parley_gateway_slow_consumer_closes_total')).toBe(closes0 + SLOW);
  } finally {
    clearInterval(sampler);
  }

  // Resumed, a slow client reads what was buffered and then the 4010 close.
  for (const s of slow) s.ws.resume();
  const codes = await Promise.all(slow.map((s) => s.closed));
  expect(codes.map((c) => c.code)).toEqual(slow.map(() => 4010));

  // The reading member got every acked message, in order, once.
  await reader.waitFor(() => reader.ofType('message').length >= acked.length, 20_000, 'every message');
  const seqs = reader.ofType('message').map((m) => m.seq);
  expect(seqs).toEqual([...acked].sort((a, b) => a - b));
  const grown = rssMax - rss0;
  console.log(
    `slow consumer: ${acked.length} messages (${mib(acked.length * BODY.length)} MiB of bodies) to ${SLOW} paused sockets; ` +
      `watched socket buffer peak ${(bufferedMax / 1024).toFixed(0)} KiB (limit ${SEND_LIMIT / 1024}); ` +
      `process RSS ${mib(rss0)} -> peak ${mib(rssMax)} MiB (+${mib(grown)})`,
  );
  // What the gateway holds for a paused socket is bounded by the limit plus what one fan-out check
  // lets through (half a limit); uWS's own hard cap (4x, then a 1006 drop) is never reached.
  expect(bufferedMax).toBeLessThan(SEND_LIMIT * 2);
  // A coarse guard only: this process also runs the clients (the reader keeps every frame).
  expect(grown).toBeLessThan(160 * 1024 * 1024);
}, 90_000);
