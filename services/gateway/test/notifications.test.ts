import { MemoryBroker } from '@parley/bus';
import { Subjects } from '@parley/protocol';
import { wsClient } from '@parley/testkit';
import { afterAll, expect, it } from 'vitest';
import { startGateway, token } from './harness.ts';

const broker = new MemoryBroker();
const gw = await startGateway({ broker });
afterAll(() => gw.stop());

it('sends each new connection its unread notifications, batching connects into unreadMany requests', async () => {
  const requests: { op: string; users: string[] }[] = [];
  const notify = broker.connect();
  notify.subscribe(Subjects.notifyQuery, (msg) => {
    const req = JSON.parse(msg.string()) as { op: string; users: string[] };
    requests.push(req);
    const byUser = Object.fromEntries(
      req.users.map((u) => [
        u,
        { unread: [{ id: `n-${u}`, title: 't', body: 'b', createdAt: 1, read: false }], more: 3 },
      ]),
    );
    msg.respond(JSON.stringify({ ok: true, result: { byUser } }));
  });
  const users = ['ann', 'bo', 'cy', 'ann'];
  const clients = await Promise.all(users.map(async (u) => wsClient(gw.url, { token: await token(u) })));
  for (const [i, c] of clients.entries()) {
    const f = await c.waitFor((x) => x.type === 'notifications');
    expect(f).toMatchObject({ unread: [{ id: `n-${users[i]}` }], more: 3 });
  }
  expect(requests.every((r) => r.op === 'unreadMany')).toBe(true);
  // Each user is asked for once per batch, and no more requests than connections were made.
  expect(requests.length).toBeLessThanOrEqual(clients.length);
  for (const r of requests) expect(new Set(r.users).size).toBe(r.users.length);
  await Promise.all(clients.map((c) => c.close()));
  await notify.close();
});
