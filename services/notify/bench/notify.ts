/**
 * `npm run bench -w @parley/notify`: the notify API on real NATS and a real Mongo-wire server
 * (whatever the test kit provides: mongod, else FerretDB), everything in this one process:
 * - throughput: POST /v1/notifications at a fixed concurrency, 1 and 10 users per request;
 *   accepted/s (202s) and stored/s (inbox rows);
 * - latency: API call -> `notification` frame on a WebSocket of a real gateway, p50/p99, at a
 *   steady request rate.
 * Kafka is not on the API path, so the service runs with the memory stream. Writes results/notify.json.
 *
 * NATS is the bench's own server even when NATS_URL is set: on a shared server every gateway of
 * every other test run sends its `notify.query` lookups to whichever notify is in queue group
 * 'notify', this one included (1,841 foreign lookups in one 20 s run), and they ran against this
 * bench's database while it measured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DEV_SECRET, signToken } from '@parley/auth';
import { createNatsBus } from '@parley/bus';
import { Gateway, loadGatewayConfig } from '@parley/gateway';
import { createTestLogger } from '@parley/log';
import type { ServerFrame } from '@parley/protocol';
import { verifierFrom } from '@parley/runtime';
import { mongoStores, openMongo } from '@parley/store';
import { createMemoryStream } from '@parley/stream';
import { startMongo, startNats, uniquePrefix, wsClient } from '@parley/testkit';
import { loadNotifyConfig, NotifyService } from '../src/index.ts';

const quick = process.argv.includes('--quick');
const REQUESTS = quick ? 1000 : 5000;
const CONCURRENCY = 64;
const LATENCY_USERS = 50;
const LATENCY_RATE = 50; // requests per second: latency below saturation (throughput is measured above)
const LATENCY_SECONDS = quick ? 3 : 10;

const nats = await startNats({ own: true });
const mongoServer = await startMongo();
const mongo = await openMongo(mongoServer.url, uniquePrefix('bench_notify'));
const log = createTestLogger().logger;
const notifyBus = await createNatsBus({ servers: nats.url, name: 'notify-bench' });
const cfg = loadNotifyConfig({ NOTIFY_PORT: '0', NOTIFY_HOST: '127.0.0.1' });
const verifier = await verifierFrom(cfg);
const notify = new NotifyService({
  cfg,
  bus: notifyBus,
  stream: createMemoryStream(),
  stores: mongoStores(mongo.db),
  verifier,
  log,
});
await notify.start();
const gwBus = await createNatsBus({ servers: nats.url, name: 'gateway-bench' });
const gwCfg = loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', NATS_URL: nats.url });
const gateway = new Gateway({ cfg: gwCfg, bus: gwBus, verifier, log });
const gwPort = await gateway.start();
const api = `http://127.0.0.1:${notify.port}/v1/notifications`;
const headers = {
  authorization: `Bearer ${await signToken(DEV_SECRET, { sub: 'bench', scope: 'notify:send' })}`,
  'content-type': 'application/json',
};

async function send(users: string[], title: string): Promise<number> {
  const res = await fetch(api, {
    method: 'POST',
    headers,
    body: JSON.stringify({ to: { users }, title, body: 'bench' }),
  });
  const json = (await res.json()) as { recipients?: number };
  if (res.status !== 202) throw new Error(`status ${res.status}: ${JSON.stringify(json)}`);
  return json.recipients ?? 0;
}

async function throughput(usersPerRequest: number) {
  let next = 0;
  let stored = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const users = Array.from(
          { length: usersPerRequest },
          (_, k) => `u${(i * usersPerRequest + k) % 1000}`,
        );
        const n = await send(users, `t${i}`);
        stored += n;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    scenario: `throughput, ${usersPerRequest} user(s)/request`,
    requests: REQUESTS,
    acceptedPerSec: Math.round(REQUESTS / s),
    storedPerSec: Math.round(stored / s),
    processCpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / s) * 100),
  };
}

async function latency() {
  const token = (u: string) => signToken(DEV_SECRET, { sub: u, rooms: ['*'] });
  const clients = await Promise.all(
    Array.from({ length: LATENCY_USERS }, async (_, i) =>
      wsClient(`ws://127.0.0.1:${gwPort}/ws`, { token: await token(`lat${i}`) }),
    ),
  );
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  for (const c of clients)
    c.ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as ServerFrame;
      if (f.type !== 'notification') return;
      const t = sentAt.get(f.notification.title);
      if (t !== undefined) samples.push(performance.now() - t);
    });
  console.error(`[bench] ${LATENCY_USERS} sockets connected`);
  const total = LATENCY_RATE * LATENCY_SECONDS;
  const pending: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const title = `lat-${i}`;
    sentAt.set(title, performance.now());
    pending.push(send([`lat${i % LATENCY_USERS}`], title).catch(() => 0));
    await new Promise((r) => setTimeout(r, 1000 / LATENCY_RATE));
  }
  console.error('[bench] latency: all sent');
  await Promise.all(pending);
  console.error('[bench] latency: all accepted');
  await new Promise((r) => setTimeout(r, 500));
  await Promise.all(clients.map((c) => c.close()));
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN).toFixed(1));
  return {
    scenario: `API -> live frame on a gateway socket, ${LATENCY_RATE} req/s`,
    requests: total,
    delivered: samples.length,
    failed: (await Promise.all(pending)).filter((n) => n === 0).length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: Number((samples.at(-1) ?? Number.NaN).toFixed(1)),
  };
}

try {
  const rows = [];
  for (const run of [() => throughput(1), () => throughput(10), latency]) {
    rows.push(await run());
    console.error(`[bench] done: ${JSON.stringify(rows.at(-1))}`);
  }
  console.table(rows);
  const out = new URL('./results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    mongo: mongoServer.url,
    quick,
    concurrency: CONCURRENCY,
  };
  writeFileSync(new URL('notify.json', out), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
} finally {
  await gateway.stop();
  await notify.drain();
  await Promise.all([gwBus.close(), notifyBus.close()]);
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
  await Promise.all([nats[Symbol.asyncDispose](), mongoServer[Symbol.asyncDispose]()]);
}
