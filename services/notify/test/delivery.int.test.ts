import type { Notification, ServerFrame } from '@parley/protocol';
import { eventually, type WsClient, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Harness, startNotify } from './harness.ts';
import { type RealDrivers, realDrivers, startGateway, userToken } from './infra.ts';

let drivers: RealDrivers;
let h: Harness;
let gw: Awaited<ReturnType<typeof startGateway>>;
const clients: WsClient[] = [];

beforeAll(async () => {
  drivers = await realDrivers({ kafkaBrokers: inject('kafkaBrokers'), mongoUrl: inject('mongoUrl') });
  h = await startNotify({}, drivers);
  gw = await startGateway(drivers.natsUrl);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw?.stop();
  await h?.stop();
  await drivers?.close();
});

async function connect(user: string): Promise<WsClient> {
  const c = await wsClient(gw.url, { token: await userToken(user) });
  clients.push(c);
  return c;
}

const isNote = (id: string) => (f: ServerFrame) => f.type === 'notification' && f.notification.id === id;
const unreadOf = (c: WsClient) =>
  c.waitFor<Extract<ServerFrame, { type: 'notifications' }>>((f) => f.type === 'notifications');

describe('notify with a real gateway, NATS, Kafka and Mongo-wire', () => {
  // The latency figure is the bench's job (a shared, loaded box makes any bound here flaky); this
  // checks that it arrives live, on both devices, without a reconnect.
  it('reaches both devices of a connected user live', async () => {
    const [phone, laptop] = [await connect('alice'), await connect('alice')];
    await Promise.all([unreadOf(phone), unreadOf(laptop)]);
    const t0 = performance.now();
    const { status, json } = await h.post({ to: { users: ['alice'] }, title: 'Build done', body: 'green' });
    expect(status).toBe(202);
    const id = `${json.id}:alice`;
    const frames = await Promise.all([phone.waitFor(isNote(id), 10_000), laptop.waitFor(isNote(id), 10_000)]);
    console.log(`API call -> both devices: ${(performance.now() - t0).toFixed(1)} ms`);
    for (const f of frames) expect(f).toMatchObject({ notification: { title: 'Build done', read: false } });
  });

  it('keeps it unread for a disconnected user and sends it after welcome on the next connect', async () => {
    const { json } = await h.post({
      to: { users: ['dave'] },
      title: 'While you were away',
      body: 'x',
      data: { n: 1 },
    });
    const dave = await connect('dave');
    const frame = await unreadOf(dave);
    expect(dave.frames[0]?.type).toBe('welcome');
    expect(frame.unread).toEqual([
      expect.objectContaining({
        id: `${json.id}:dave`,
        title: 'While you were away',
        data: { n: 1 },
        read: false,
      }),
    ]);
  });

  it('marking read on one device updates the other, and it is no longer unread', async () => {
    const { json } = await h.post({ to: { users: ['erin'] }, title: 'Read me', body: 'x' });
    const id = `${json.id}:erin`;
    const [a, b] = [await connect('erin'), await connect('erin')];
    expect((await unreadOf(a)).unread.map((n) => n.id)).toEqual([id]);
    await unreadOf(b);
    expect(await a.request({ type: 'notifications.read', ids: [id] })).toMatchObject({ type: 'ok' });
    const update = await b.waitFor<Extract<ServerFrame, { type: 'notification' }>>(isNote(id), 2000);
    expect(update.notification).toMatchObject({ id, title: 'Read me', read: true });
    const again = await connect('erin');
    expect((await unreadOf(again)).unread).toEqual([]);
  });

  it('turns a retried idempotencyKey into one notification with the same id', async () => {
    const req = { to: { users: ['fred'] }, title: 'Once', body: 'x', idempotencyKey: `once-${Date.now()}` };
    const answers = [await h.post(req), await h.post(req), await h.post(req)];
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify(answers[0])]));
    const fred = await connect('fred');
    expect((await unreadOf(fred)).unread.map((n: Notification) => n.title)).toEqual(['Once']);
  });

  it('accepts the same request from Kafka notifications.requests', async () => {
    const value = JSON.stringify({
      to: { users: ['gina'] },
      title: 'From Kafka',
      body: 'x',
      idempotencyKey: `k-${Date.now()}`,
    });
    await drivers.stream.send('notifications.requests', [
      { key: 'gina', value },
      { key: 'gina', value },
    ]);
    await eventually(
      async () =>
        expect(
          (await h.query<{ unread: Notification[] }>({ op: 'unread', user: 'gina', limit: 10 })).unread,
        ).toHaveLength(1),
      { timeoutMs: 30_000 },
    );
  });

  it('refuses invalid input with the right status and a JSON error naming the problem', async () => {
    const ok = { to: { users: ['x'] }, title: 't', body: 'b' };
    const expectations: [Awaited<ReturnType<Harness['post']>>, number, string][] = [
      [await h.post('not json', { raw: true }), 400, 'request: invalid JSON'],
      [await h.post({ ...ok, colour: 'red' }, {}), 400, 'colour: unknown field'],
      [await h.post({ ...ok, ttlSeconds: 'soon' }), 400, 'ttlSeconds: must be an integer'],
      [await h.post({ ...ok, title: '' }), 400, 'title: must not be empty'],
      [await h.post({ ...ok, body: 'x'.repeat(100_000) }), 413, 'request: body larger than'],
      [await h.post(ok, { token: 'x.y.z' }), 401, 'authorization: token malformed'],
      [await h.post(ok, { token: await userToken('mallory') }), 403, 'authorization: the token lacks scope'],
    ];
    for (const [r, status, error] of expectations) {
      expect(r.status).toBe(status);
      expect(r.json.error?.startsWith(error), `${r.json.error} should start with ${error}`).toBe(true);
    }
  });
});
