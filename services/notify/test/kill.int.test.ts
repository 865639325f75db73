/**
 * Fault test: notify runs as a child process (main.ts on real drivers, its own Kafka so a killed
 * group member cannot stall other tests' consumer groups) and is killed with SIGKILL.
 * - killed right after a 202: the notification is kept unread and sent on the next connect;
 * - killed halfway through a 3,000-recipient fan-out (no 202, nothing promised): the producer's retry
 *   with the same idempotencyKey completes it with exactly one row per recipient, and delivers live
 *   every copy the killed process had not sent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerFrame, UserEvent } from '@parley/protocol';
import { Collections } from '@parley/store';
import { eventually, freePort, type ServerHandle, startKafka, uniquePrefix, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Harness, startNotify } from './harness.ts';
import { type RealDrivers, realDrivers, startGateway, userToken } from './infra.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ROOM_USERS = 3000;
const db = uniquePrefix('notify_kill');
let kafka: ServerHandle;
let drivers: RealDrivers;
let child: ChildProcess | undefined;
let childLog = '';

beforeAll(async () => {
  kafka = await startKafka();
  drivers = await realDrivers({ kafkaBrokers: inject('kafkaBrokers'), mongoUrl: inject('mongoUrl') }, db);
  const conversations = drivers.mongo.db.collection(Collections.conversations);
  await conversations.insertMany(
    Array.from({ length: ROOM_USERS }, (_, n) => ({
      user: `k${String(n).padStart(5, '0')}`,
      room: 'crowd',
      lastSeq: n + 1,
    })),
  );
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await drivers?.close();
  await kafka?.[Symbol.asyncDispose]();
});

async function startChild(): Promise<string> {
  const port = await freePort();
  // node itself with tsx's loader: the tsx CLI would run the service in a grandchild that a
  // SIGKILL to the CLI leaves running.
  child = spawn(process.execPath, ['--import', 'tsx', 'services/notify/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NATS_URL: drivers.natsUrl,
      KAFKA_BROKERS: kafka.url,
      MONGO_URL: inject('mongoUrl'),
      MONGO_DB: db,
      NOTIFY_PORT: String(port),
      NOTIFY_HOST: '127.0.0.1',
      NOTIFY_BATCH: '20', // many small steps, so the kill lands mid fan-out
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (childLog += d));
  child.stderr?.on('data', (d) => (childLog += d));
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), {
    timeoutMs: 60_000,
    message: `notify child not ready: ${childLog.slice(-500)}`,
  });
  return url;
}

async function kill9(): Promise<void> {
  const proc = child;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

const post = (url: string, token: string, body: unknown) =>
  fetch(`${url}/v1/notifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('kill -9 notify between accept and delivery', () => {
  let h: Harness;
  let urlOfChild: string;
  const rows = (filter: object) =>
    drivers.mongo.db.collection(Collections.notifications).countDocuments(filter);

  it('loses no 202-accepted notification and completes an interrupted fan-out on retry', async () => {
    const live = new Map<string, number>(); // live 'Crowd' copies per user, from either process
    drivers.bus.subscribe('user.*', (m) => {
      const ev = JSON.parse(m.string()) as UserEvent;
      if (ev.kind !== 'frame') return;
      const f = JSON.parse(ev.frame) as ServerFrame;
      if (f.type === 'notification' && f.notification.title === 'Crowd') {
        const user = m.subject.slice('user.'.length);
        live.set(user, (live.get(user) ?? 0) + 1);
      }
    });
    await drivers.bus.flush();
    urlOfChild = await startChild();
    h = await startNotify({}, drivers); // the survivor: answers notify.query and retries once the child is dead
    const token = h.token;
    const accepted = await post(urlOfChild, token, { to: { users: ['kim'] }, title: 'Survives', body: 'x' });
    const crowdReq = { to: { room: 'crowd' }, title: 'Crowd', body: 'x', idempotencyKey: `crowd-${db}` };
    const interrupted = post(urlOfChild, token, crowdReq).then(
      (r) => r.status,
      () => 'no answer',
    );
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    // The child's own counter says when the fan-out is under way (a Mongo count is far slower).
    const storedByChild = async () => {
      const text = await (await fetch(`${urlOfChild}/metrics`)).text();
      return Number(/^parley_notify_stored_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    await eventually(async () => expect(await storedByChild()).toBeGreaterThan(1), {
      intervalMs: 2,
      timeoutMs: 30_000,
    });
    await kill9();
    expect(await interrupted).toBe('no answer');
    const partial = await rows({ title: 'Crowd' });
    console.log(`killed with ${partial}/${ROOM_USERS} crowd rows stored`);
    expect(partial).toBeLessThan(ROOM_USERS);

    const gw = await startGateway(drivers.natsUrl);
    try {
      const kim = await wsClient(gw.url, { token: await userToken('kim') });
      const unread = await kim.waitFor<Extract<ServerFrame, { type: 'notifications' }>>(
        (f) => f.type === 'notifications',
      );
      expect(unread.unread.map((n) => n.id)).toEqual([`${id}:kim`]);
      await kim.close();
    } finally {
      await gw.stop();
    }

    const liveFromChild = live.size;
    const retry = await h.post(crowdReq);
    expect(retry.json.recipients).toBe(ROOM_USERS);
    expect(await rows({ title: 'Crowd' })).toBe(ROOM_USERS);
    expect(await rows({ _id: { $regex: `^${retry.json.id}:` } })).toBe(ROOM_USERS);
    await h.stop(); // waits for the retry's live deliveries
    await drivers.bus.flush();
    await new Promise((r) => setTimeout(r, 500)); // frames in flight on the loopback
    const twice = [...live.values()].filter((n) => n === 2).length;
    console.log(
      `live copies: ${liveFromChild} users from the killed child, ${live.size}/${ROOM_USERS} in all, ${twice} twice`,
    );
    expect(live.size).toBe(ROOM_USERS); // the retry made up every copy the child had not sent
    expect(Math.max(...live.values())).toBeLessThanOrEqual(2);
    // A second copy only where the child published and died before its marker landed.
    expect(twice).toBeLessThanOrEqual(liveFromChild);
  });
});
