/**
 * Presence bench (issue 5): 100,000 connections across 4 simulated gateways in 10,000 rooms.
 *   node --expose-gc --import tsx services/presence/bench/presence.ts
 * 1. memory: the tracker alone, heap after GC before and after loading, per connection;
 * 2. the service on real NATS fed by 4 SimGateways: load time, CPU per heartbeat round while idle,
 *    and latency from a join (gateway side) to the presence.join event at a room subscriber.
 * Prints a table and writes bench/results/presence.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createVerifier, DEV_SECRET } from '@parley/auth';
import { createLogger } from '@parley/log';
import { openEphEnvelope, type PresenceDelta } from '@parley/protocol';
import { connectBus } from '@parley/runtime';
import { startNats } from '@parley/testkit';
import { loadPresenceConfig, PresenceService } from '../src/index.ts';
import { type PresenceEvent, PresenceTracker } from '../src/tracker.ts';
import { SimGateway } from '../test/sim-gateway.ts';

const CONNS = 100_000;
const GATEWAYS = 4;
const ROOMS = 10_000;
const ROOMS_PER_CONN = 2;
/** One user in five has a second device (on another gateway). */
const USERS = Math.round(CONNS / 1.2);
const HB_MS = 1000;
const SAMPLES = 2000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** Connection i: its user, gateway and rooms (deterministic). */
const plan = (i: number) => ({
  user: `user-${i % USERS}`,
  gw: (i + Math.floor(i / USERS)) % GATEWAYS,
  rooms: Array.from({ length: ROOMS_PER_CONN }, (_, k) => `room-${(i * 7 + k * 4999) % ROOMS}`),
});

function memoryPerConnection(): number {
  const h0 = heap();
  const t = new PresenceTracker();
  const out: PresenceEvent[] = [];
  for (let i = 0; i < CONNS; i++) {
    const p = plan(i);
    const gw = `gw-bench-${p.gw}`;
    const conn = `${gw}-${(i + 1).toString(36)}`;
    const deltas: PresenceDelta[] = [{ k: 'connect', conn, user: p.user, status: 'online' }];
    for (const room of p.rooms) deltas.push({ k: 'join', conn, room });
    for (const d of deltas) t.apply(gw, d, out);
    out.length = 0;
  }
  const bytes = (heap() - h0) / CONNS;
  if (t.stats.connections !== CONNS) throw new Error('tracker lost connections');
  return bytes;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function main(): Promise<void> {
  const bytesPerConn = memoryPerConnection();
  const nats = await startNats();
  const log = createLogger({ service: 'bench', level: 'warn' });
  const cfg = loadPresenceConfig({
    NATS_URL: nats.url,
    PRESENCE_PORT: '0',
    PRESENCE_REBUILD_WINDOW: '500ms',
    LOG_LEVEL: 'warn',
  });
  const bus = await connectBus(cfg, 'bench', log);
  const presence = new PresenceService({
    cfg,
    bus,
    verifier: await createVerifier({ secret: DEV_SECRET }),
    log,
  });
  await presence.start();
  const gwBus = await connectBus(cfg, 'bench-gateways', log);
  const sims = Array.from({ length: GATEWAYS }, (_, g) =>
    new SimGateway(gwBus, `gw-bench-${g}`, HB_MS).start(),
  );
  while (!presence.isLeader) await sleep(50);

  const t0 = performance.now();
  for (let i = 0; i < CONNS; i++) {
    const p = plan(i);
    sims[p.gw]!.connect(p.user, p.rooms);
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  while (presence.tracker.stats.connections < CONNS) await sleep(20);
  const loadMs = performance.now() - t0;
  const resyncsBefore = await resyncs(presence);

  // CPU while idle: heartbeats of 4 gateways every HB_MS plus the service's own timers.
  await sleep(2 * HB_MS);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(10 * HB_MS);
  const cpu = process.cpuUsage(c0);
  const rounds = (performance.now() - w0) / HB_MS;
  const cpuPerRoundMs = (cpu.user + cpu.system) / 1000 / rounds;

  // Latency: a new connection of a new user joins a room; time until its presence.join arrives.
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const tap = await connectBus(cfg, 'bench-tap', log);
  tap.subscribe('chat.eph.>', (m) => {
    const f = JSON.parse(openEphEnvelope(m.string()).frame) as { type: string; userId: string };
    const at = sent.get(f.userId);
    if (f.type === 'presence.join' && at !== undefined) lat.push(performance.now() - at);
  });
  await tap.flush();
  for (let i = 0; i < SAMPLES; i++) {
    const user = `lat-${i}`;
    sent.set(user, performance.now());
    sims[i % GATEWAYS]!.connect(user, [`room-${i % ROOMS}`]);
    await sleep(1);
  }
  await sleep(1000);
  const resyncsDuring = (await resyncs(presence)) - resyncsBefore;
  const rss = process.memoryUsage().rss;

  const results = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    setup: {
      connections: CONNS,
      gateways: GATEWAYS,
      rooms: ROOMS,
      roomsPerConnection: ROOMS_PER_CONN,
      users: USERS,
    },
    trackerBytesPerConnection: Math.round(bytesPerConn),
    loadSeconds: +(loadMs / 1000).toFixed(2),
    deltasPerSecond: Math.round((CONNS * (1 + ROOMS_PER_CONN)) / (loadMs / 1000)),
    cpuMsPerHeartbeatRound: +cpuPerRoundMs.toFixed(3),
    eventLatencyMs: {
      samples: lat.length,
      p50: +pct(lat, 0.5).toFixed(2),
      p99: +pct(lat, 0.99).toFixed(2),
      max: +pct(lat, 1).toFixed(2),
    },
    resyncsDuringRun: resyncsDuring,
    benchProcessRssMB: Math.round(rss / 2 ** 20),
  };
  console.table({
    'tracker memory per connection (bytes)': results.trackerBytesPerConnection,
    'load 100k connections (s)': results.loadSeconds,
    'deltas applied per second (load)': results.deltasPerSecond,
    'CPU per heartbeat round, 4 gateways (ms)': results.cpuMsPerHeartbeatRound,
    'event latency p50 (ms)': results.eventLatencyMs.p50,
    'event latency p99 (ms)': results.eventLatencyMs.p99,
    'latency samples': results.eventLatencyMs.samples,
    'resyncs during run (digest mismatches)': results.resyncsDuringRun,
  });
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}presence.json`, `${JSON.stringify(results, null, 2)}\n`);

  for (const s of sims) s.kill();
  await presence.drain();
  for (const b of [tap, gwBus, bus]) await b.close();
  await nats[Symbol.asyncDispose]();
}

async function resyncs(p: PresenceService): Promise<number> {
  const text = await p.metrics.registry.getSingleMetricAsString('parley_presence_resyncs_total');
  return Number(/\} (\d+)/.exec(text)?.[1] ?? 0);
}

await main();
