/**
 * Pipeline benchmark on real servers (NATS_URL, KAFKA_BROKERS, MONGO_URL; `npm run infra -- up`):
 *   1. throughput, one stage at a time and the whole pipeline, each draining a backlog of MESSAGES
 *      appended while that stage was paused (so the append rate does not cap the figure):
 *      bridge alone (JetStream -> Kafka acked), writer alone (Kafka -> Mongo written), pipeline
 *      (both running, JetStream -> Mongo); msgs/s and the CPU (cores) of this process (the service),
 *      of each server and of everything else on the machine;
 *   2. fixed rate: RATE msgs/s for SECONDS; reports persistence lag p50/p99 (message ts -> written);
 *   3. unread counts for 100 rooms (50 with messages) in one history.query request: UNREADS requests;
 *   4. page latency: one room filled for FILL_SECONDS by direct bulk writes (the store's MessageSink,
 *      FILL_BATCH per write), then PAGES `page` requests of 50 messages over history.query (NATS
 *      request/reply, as the gateway asks), at random `before` positions; reports p50/p99/max.
 * The bridge forwards every chat message of the server, other users' too: counts and rates are of
 * what the stage processed. Options (env): MESSAGES=50000 RATE=5000 SECONDS=10 ROOMS=50 USERS=7
 * UNREADS=20 FILL_SECONDS=60 FILL_BATCH=5000 PAGES=50; HISTORY_* settings are passed to the service.
 * Writes bench/results/history.json (with the machine's load average).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { encodeChatPayload, Subjects } from '@parley/protocol';
import { mongoStores, type StoredMessage } from '@parley/store';
import { CpuMeter } from '../../../bench/lib/proc.ts';
import { startRealHistory } from '../test/harness.ts';
import { serverPids } from './servers.ts';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const MESSAGES = env('MESSAGES', 50_000);
const RATE = env('RATE', 5_000);
const SECONDS = env('SECONDS', 10);
const ROOMS = env('ROOMS', 50);
const USERS = env('USERS', 7);
const UNREADS = env('UNREADS', 20);
const FILL_SECONDS = env('FILL_SECONDS', 60);
const FILL_BATCH = env('FILL_BATCH', 5_000);
const PAGES = env('PAGES', 50);
const PAGE_BUDGET_S = env('PAGE_BUDGET_S', 120);
const PAGE = 50;
const urls = {
  natsUrl: process.env.NATS_URL!,
  kafkaBrokers: process.env.KAFKA_BROKERS!,
  mongoUrl: process.env.MONGO_URL!,
};
if (!urls.natsUrl || !urls.kafkaBrokers || !urls.mongoUrl)
  throw new Error('set NATS_URL, KAFKA_BROKERS, MONGO_URL');
const settings = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('HISTORY_') && !!e[1]),
);

const prefix = `bench${Date.now().toString(36)}`;
const h = await startRealHistory(urls, prefix, settings);
const { bridge, writer } = h.service;
const servers = serverPids({ nats: urls.natsUrl, kafka: urls.kafkaBrokers, mongo: urls.mongoUrl });
const meter = new CpuMeter(() => ({ service: [process.pid], ...servers }));
const cores = () =>
  Object.fromEntries(Object.entries(meter.cores()).map(([k, v]) => [k, Number(v.toFixed(2))]));
let n = 0;
const append = () => {
  const i = n++;
  const payload = encodeChatPayload({
    msgId: `m${i}`,
    from: `u${i % USERS}`,
    body: 'x'.repeat(60),
    ts: Date.now(),
    clientMsgId: `c${i}`,
  });
  return h.bus.chat.append(`${prefix}-r${i % ROOMS}`, payload, `${prefix}:${i}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond()) && Date.now() < end) await sleep(50);
  return cond();
};
const bridgeIdle = async () => (await bridge.pending()) === 0;
const writerIdle = async () => (await writer.lag()) === 0;
const processed = () => writer.written + writer.deadLettered;

// The durable starts at what CHAT_LOG holds: wait until the backlog of earlier runs is through.
await sleep(3_000);
await until(async () => (await bridgeIdle()) && (await writerIdle()), 300_000);
const loadAtStart = loadavg().map((l) => Number(l.toFixed(1)));

/** Appends MESSAGES (500 in flight) while the stages are paused; returns the append figures. */
async function backlog() {
  await bridge.stop();
  await writer.stop();
  meter.start();
  const t = performance.now();
  for (let k = 0; k < MESSAGES; k += 500)
    await Promise.all(Array.from({ length: Math.min(500, MESSAGES - k) }, append));
  return { perSec: Math.round(MESSAGES / ((performance.now() - t) / 1000)), cores: cores() };
}

/** Batches so far per stage (count, messages): the mean batch of a phase is the difference. */
async function batches() {
  const { values } = await h.service.metrics.batchSize.get();
  const of = (stage: string, suffix: string) =>
    values.find((v) => v.labels.stage === stage && v.metricName?.endsWith(suffix))?.value ?? 0;
  return {
    bridge: [of('bridge', '_count'), of('bridge', '_sum')],
    writer: [of('writer', '_count'), of('writer', '_sum')],
  };
}

/** Runs `start`, then times until `idle`; `count` is what the stage processed meanwhile. */
async function drain(start: () => Promise<void> | void, idle: () => Promise<boolean>, count: () => number) {
  await start();
  const c0 = count();
  const b0 = await batches();
  meter.start();
  const t = performance.now();
  const done = await until(idle, 600_000);
  const s = (performance.now() - t) / 1000;
  const messages = count() - c0;
  const b1 = await batches();
  const mean = (k: 'bridge' | 'writer') => {
    const calls = b1[k][0]! - b0[k][0]!;
    return calls > 0 ? Math.round((b1[k][1]! - b0[k][1]!) / calls) : null;
  };
  const used = cores();
  // CPU per message is steadier than msgs/s on a shared box: others' load stretches the wall time.
  const perMsg = (k: string) => Number((((used[k] ?? 0) * s * 1000) / Math.max(1, messages)).toFixed(3));
  return {
    messages,
    seconds: Number(s.toFixed(2)),
    perSec: done ? Math.round(messages / s) : null,
    meanBatch: { bridge: mean('bridge'), writer: mean('writer') },
    cpuMsPerMsg: {
      service: perMsg('service'),
      nats: perMsg('nats'),
      kafka: perMsg('kafka'),
      mongo: perMsg('mongo'),
    },
    cores: used,
  };
}

// 1. Throughput: each stage alone, then the whole pipeline, each from a fresh backlog.
const append1 = await backlog();
const bridgeAlone = await drain(
  () => bridge.start(),
  bridgeIdle,
  () => bridge.forwarded,
);
const writerAlone = await drain(() => writer.start(), writerIdle, processed);
const append2 = await backlog();
const pipeline = await drain(
  async () => {
    await writer.start();
    bridge.start();
  },
  async () => (await bridgeIdle()) && (await writerIdle()),
  processed,
);
const throughput = { backlog: MESSAGES, append: append1, bridgeAlone, writerAlone, append2, pipeline };
console.log('throughput', JSON.stringify(throughput, null, 1));

// 2. Fixed rate: persistence lag.
h.service.metrics.persistLag.reset();
const w1 = writer.written;
const tick = 50;
const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
const inflight: Promise<unknown>[] = [];
meter.start();
const t1 = performance.now();
while (performance.now() - t1 < SECONDS * 1000) {
  for (let i = 0; i < perTick; i++) inflight.push(append());
  await sleep(tick);
}
const rateS = (performance.now() - t1) / 1000;
await Promise.all(inflight);
await until(() => writer.written - w1 >= inflight.length, 120_000);
const rateCores = cores();
const rateMsgs = writer.written - w1;
const rateWall = (performance.now() - t1) / 1000;
const ratePerMsg = (k: string) => Number((((rateCores[k] ?? 0) * rateWall * 1000) / rateMsgs).toFixed(3));
const lag = await h.service.metrics.persistLag.get();
const quantile = (q: number) => {
  const buckets = lag.values.filter((v) => v.metricName?.endsWith('_bucket'));
  const total = buckets.find((b) => b.labels.le === '+Inf')?.value ?? 0;
  return buckets.find((b) => b.value >= q * total)?.labels.le;
};
const fixedRate = {
  ratePerSec: RATE,
  seconds: SECONDS,
  sent: inflight.length,
  achievedPerSec: Math.round(inflight.length / rateS),
  persistLagP50LeMs: quantile(0.5),
  persistLagP99LeMs: quantile(0.99),
  cpuMsPerMsg: { service: ratePerMsg('service'), mongo: ratePerMsg('mongo') },
  cores: rateCores,
};
const loadAfterPipeline = loadavg().map((l) => Number(l.toFixed(1)));
console.log('fixed rate', fixedRate);

// 3. Unread counts for 100 rooms, 50 of them written above (timed here, not in the tests).
const unreadRooms = Array.from({ length: 100 }, (_, i) => `${prefix}-r${i % ROOMS}${i >= ROOMS ? 'x' : ''}`);
const unreadMs: number[] = [];
for (let i = 0; i < UNREADS; i++) {
  const t = performance.now();
  const reply = await h.bus.request(
    Subjects.historyQuery,
    JSON.stringify({ op: 'unread', user: 'u1', rooms: unreadRooms }),
    { timeoutMs: 60_000 },
  );
  if (!JSON.parse(reply.string()).ok) throw new Error(`unread failed: ${reply.string()}`);
  unreadMs.push(performance.now() - t);
}
unreadMs.sort((a, b) => a - b);
const unread = {
  rooms: unreadRooms.length,
  requests: UNREADS,
  p50Ms: Number(unreadMs[Math.floor(UNREADS / 2)]!.toFixed(1)),
  maxMs: Number(unreadMs.at(-1)!.toFixed(1)),
};
console.log('unread', unread);

// 4. Page latency on one big room, filled directly (the pipeline would take far longer). Measured
// at 10,000 messages, at 100,000 if reached, and when the fill time is up: the growth with room
// size shows whether pages are index reads (flat) or scans (linear).
const big = `${prefix}-big`;
const sink = mongoStores(h.mongo.db).sink;
let filled = 0;
const pageAt: Record<string, unknown>[] = [];
const measurePages = async (requests: number) => {
  const ms: number[] = [];
  const errors: string[] = [];
  const budgetEnd = performance.now() + PAGE_BUDGET_S * 1000;
  for (let i = 0; i < requests && performance.now() < budgetEnd; i++) {
    const before = i === 0 ? undefined : PAGE + 1 + Math.floor(Math.random() * (filled - PAGE));
    const t = performance.now();
    const reply = await h.bus.request(
      Subjects.historyQuery,
      JSON.stringify({ op: 'page', room: big, before, limit: PAGE }),
      { timeoutMs: 600_000 },
    );
    const took = performance.now() - t;
    const r = JSON.parse(reply.string());
    if (r.ok && r.result.messages.length === PAGE) ms.push(took);
    else errors.push(`${r.code ?? 'short page'} after ${Math.round(took)} ms`);
  }
  ms.sort((a, b) => a - b);
  const pct = (q: number) =>
    ms.length ? Number(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(1)) : null;
  const row = {
    roomMessages: filled,
    requests: ms.length + errors.length,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: pct(1),
    errors: errors.slice(0, 3),
  };
  console.log('page latency', row);
  pageAt.push(row);
};
const checkpoints = [10_000, 100_000];
let fillMs = 0;
while (fillMs < FILL_SECONDS * 1000) {
  const batch: StoredMessage[] = Array.from({ length: FILL_BATCH }, (_, j) => {
    const seq = filled + j + 1;
    return {
      room: big,
      seq,
      msgId: `b${seq}`,
      from: 'u0',
      body: 'x'.repeat(60),
      ts: Date.now(),
      clientMsgId: `b${seq}`,
    };
  });
  const tw = performance.now();
  await sink.write(batch);
  fillMs += performance.now() - tw;
  filled += FILL_BATCH;
  if (filled === checkpoints[0]) {
    checkpoints.shift();
    await measurePages(Math.min(PAGES, 20));
  }
}
await measurePages(PAGES);

const result = {
  at: new Date().toISOString(),
  servers:
    'nats-server (JetStream, file), Kafka KRaft (1 broker), FerretDB v1.24 on PostgreSQL 15 (Mongo wire; fsync off)',
  settings,
  machine: {
    cpus: cpus().length,
    loadAvg1m5m15mAtStart: loadAtStart,
    loadAvg1m5m15mAfterPipeline: loadAfterPipeline,
    loadAvg1m5m15mAtEnd: loadavg().map((l) => Number(l.toFixed(1))),
  },
  messages: MESSAGES,
  rooms: ROOMS,
  users: USERS,
  throughput,
  fixedRate,
  unread,
  page: {
    limit: PAGE,
    via: 'history.query over NATS (store page: find room, seq < before, sort seq desc, limit 51)',
    filledMessages: filled,
    fillWriteSeconds: Number((fillMs / 1000).toFixed(1)),
    at: pageAt,
  },
};
const stageRow = (r: {
  perSec: number | null;
  seconds?: number;
  meanBatch?: Record<string, number | null>;
  cpuMsPerMsg?: Record<string, number>;
  cores: Record<string, number>;
}) => ({
  perSec: r.perSec,
  seconds: r.seconds,
  bridgeBatch: r.meanBatch?.bridge,
  writerBatch: r.meanBatch?.writer,
  serviceCpuMsPerMsg: r.cpuMsPerMsg?.service,
  mongoCpuMsPerMsg: r.cpuMsPerMsg?.mongo,
  ...r.cores,
});
console.table({
  append: stageRow(append1),
  bridgeAlone: stageRow(bridgeAlone),
  writerAlone: stageRow(writerAlone),
  pipeline: stageRow(pipeline),
  [`fixed ${RATE}/s`]: stageRow({ perSec: fixedRate.achievedPerSec, ...fixedRate }),
});
console.table({
  lag: { p50LeMs: fixedRate.persistLagP50LeMs, p99LeMs: fixedRate.persistLagP99LeMs },
  unread,
});
console.table(result.page.at);
console.log('load average at start/end:', result.machine);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/history.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
await h.stop();
process.exit(0);
