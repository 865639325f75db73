/**
 * Live-latency probe for bench/notify.ts, run as its own process (like a deployment, where the
 * gateway is not in notify's process): a real gateway on the bench's NATS, PROBE_USERS users
 * connected to it, and PROBE_RATE notification requests per second, each timed from the API call
 * to the `notification` frame on the user's socket. Prints `ready` once connected, sends until a
 * line `stop` arrives on stdin, then prints one JSON line with the figures and exits.
 * Settings from the environment: NATS_URL, API, TOKEN, PROBE_USERS, PROBE_RATE.
 */
import { createInterface } from 'node:readline';
import { DEV_SECRET, signToken } from '@parley/auth';
import { createNatsBus } from '@parley/bus';
import { Gateway, loadGatewayConfig } from '@parley/gateway';
import { createTestLogger } from '@parley/log';
import type { ServerFrame } from '@parley/protocol';
import { verifierFrom } from '@parley/runtime';
import { wsClient } from '@parley/testkit';

const env = (k: string) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k}: required (set by bench/notify.ts)`);
  return v;
};
const natsUrl = env('NATS_URL');
const api = env('API');
const headers = { authorization: `Bearer ${env('TOKEN')}`, 'content-type': 'application/json' };
const USERS = Number(env('PROBE_USERS'));
const RATE = Number(env('PROBE_RATE'));

const cfg = loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', NATS_URL: natsUrl });
const bus = await createNatsBus({ servers: natsUrl, name: 'gateway-probe' });
const gateway = new Gateway({ cfg, bus, verifier: await verifierFrom(cfg), log: createTestLogger().logger });
const port = await gateway.start();
const clients = await Promise.all(
  Array.from({ length: USERS }, async (_, i) =>
    wsClient(`ws://127.0.0.1:${port}/ws`, {
      token: await signToken(DEV_SECRET, { sub: `probe${i}`, rooms: ['*'] }),
    }),
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

let running = true;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stop') running = false;
});
console.log('ready');

let sent = 0;
let failed = 0;
const pending: Promise<unknown>[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
while (running) {
  const title = `probe-${sent}`;
  const body = JSON.stringify({ to: { users: [`probe${sent % USERS}`] }, title, body: 'probe' });
  sent++;
  sentAt.set(title, performance.now());
  pending.push(
    fetch(api, { method: 'POST', headers, body }).then(
      (r) => r.status === 202 || failed++,
      () => failed++,
    ),
  );
  await new Promise((r) => setTimeout(r, 1000 / RATE));
}
await Promise.all(pending);
await new Promise((r) => setTimeout(r, 1000)); // frames still on their way
const cpu = process.cpuUsage(cpu0);
const seconds = (performance.now() - t0) / 1000;
await Promise.all(clients.map((c) => c.close()));
await gateway.stop();
await bus.close();
samples.sort((a, b) => a - b);
const at = (q: number) => Number((samples[Math.floor(q * (samples.length - 1))] ?? Number.NaN).toFixed(1));
console.log(
  JSON.stringify({
    probeSent: sent,
    probeLive: samples.length,
    probeFailed: failed,
    liveP50Ms: at(0.5),
    liveP99Ms: at(0.99),
    liveMaxMs: at(1),
    probeCores: Number(((cpu.user + cpu.system) / 1e6 / seconds).toFixed(2)),
  }),
);
process.exit(0);
