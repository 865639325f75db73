/**
 * Readiness that means something, on a nats-server of this test's own that is killed (-9) and
 * restarted: /readyz goes 503 within seconds, publishes fail fast with `unavailable` instead of
 * hanging, and after the restart /readyz is 200 again, publishing and live delivery work, a retry
 * of the failed publish is acked once, and nothing acked before the outage is lost.
 */
import { type ServerHandle, startNats, uniquePrefix, type WsClient, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway, token } from './harness.ts';

let nats: ServerHandle;
let gw: TestGateway;
const clients: WsClient[] = [];
beforeAll(async () => {
  nats = await startNats({ own: true });
  gw = await startGateway({ natsUrl: nats.url });
});
afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw?.stop();
  await nats?.[Symbol.asyncDispose]();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readyz = async () => (await fetch(`${gw.http}/readyz`)).status;

/** Polls /readyz until it answers `status`; resolves with the time it took. */
async function readyzBecomes(status: number, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if ((await readyz()) === status) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`/readyz not ${status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

it('goes unready while NATS is down, fails publishes fast, and recovers without losing acked messages', async () => {
  if (nats.external) throw new Error('this test kills its own nats-server; unset NATS_URL');
  const room = uniquePrefix('natsdown');
  const open = async (user: string) => {
    const c = await wsClient(gw.url, { token: await token(user) });
    clients.push(c);
    return c;
  };
  const a = await open('alice');
  const b = await open('bob');
  const joined = (await a.request({ type: 'join', room })) as { seq: number; epoch: string };
  await b.request({ type: 'join', room });
  const before: number[] = [];
  for (let i = 0; i < 5; i++) {
    const ack = await a.request({ type: 'publish', room, body: `before ${i}`, clientMsgId: `b${i}` });
    expect(ack.type).toBe('ack');
    before.push((ack as { seq: number }).seq);
  }
  expect(await readyz()).toBe(200);

  await nats.kill();
  const downMs = await readyzBecomes(503, 5_000);
  expect(downMs).toBeLessThan(3_000);

  const t0 = Date.now();
  const failed = await a.request({ type: 'publish', room, body: 'during', clientMsgId: 'd0' }, 15_000);
  const failMs = Date.now() - t0;
  expect(failed).toMatchObject({ type: 'error', code: 'unavailable' });
  expect(failMs).toBeLessThan(8_000);
  // Requests to other services fail the same way, and the socket stays usable.
  const hist = await a.request({ type: 'history', room }, 15_000);
  expect(hist).toMatchObject({ type: 'error', code: 'unavailable' });
  expect((await a.request({ type: 'ping' })).type).toBe('pong');

  await nats.start();
  const upMs = await readyzBecomes(200, 20_000);

  // The failed publish, retried with the same clientMsgId, is acked (it may or may not have been
  // stored before the kill: either way exactly once); new publishes work and reach members live.
  let retry = await a.request({ type: 'publish', room, body: 'during', clientMsgId: 'd0' }, 10_000);
  for (let i = 0; retry.type === 'error' && i < 20; i++) {
    await sleep(250);
    retry = await a.request({ type: 'publish', room, body: 'during', clientMsgId: 'd0' }, 10_000);
  }
  expect(retry.type).toBe('ack');
  const after = await a.request({ type: 'publish', room, body: 'after', clientMsgId: 'a0' });
  expect(after).toMatchObject({ type: 'ack', duplicate: false });
  const afterSeq = (after as { seq: number }).seq;
  await b.waitFor((f) => f.type === 'message' && f.seq === afterSeq, 10_000, 'live delivery after restart');

  // A fresh member recovering from the cursor it had before the outage gets everything, once.
  const c = await open('carol');
  const rejoin = await c.request({ type: 'join', room, since: joined.seq, epoch: joined.epoch });
  expect(rejoin).toMatchObject({ type: 'joined', recovered: true, seq: afterSeq });
  const replayed = c.ofType('message');
  const expected = [...before, (retry as { seq: number }).seq, afterSeq];
  expect(replayed.map((m) => m.seq)).toEqual(expected);
  expect(replayed.map((m) => m.body)).toEqual([
    'before 0',
    'before 1',
    'before 2',
    'before 3',
    'before 4',
    'during',
    'after',
  ]);
  expect(replayed.map((m) => m.prev)).toEqual([joined.seq, ...expected.slice(0, -1)]);
  console.log(
    `nats down: /readyz 503 after ${downMs} ms, publish failed with unavailable after ${failMs} ms, ` +
      `/readyz 200 ${upMs} ms after restart`,
  );
}, 90_000);
