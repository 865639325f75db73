/**
 * Pipeline benchmark on real servers (NATS_URL, KAFKA_BROKERS, MONGO_URL; `npm run infra -- up`):
 *   1. burst: MESSAGES appended as fast as the stream takes them; reports bridge throughput
 *      (JetStream -> Kafka acked) and pipeline throughput (-> Mongo written), msgs/s;
 *   2. fixed rate: RATE msgs/s for SECONDS; reports persistence lag p50/p99 (message ts -> written);
 *   3. page latency: one room filled for FILL_SECONDS by direct bulk writes (the store's MessageSink,
 *      FILL_BATCH per write), then PAGES `page` requests of 50 messages over history.query (NATS
 *      request/reply, as the gateway asks), at random `before` positions; reports p50/p99/max.
 * Options (env): MESSAGES=20000 RATE=5000 SECONDS=10 ROOMS=50 USERS=7 FILL_SECONDS=60 FILL_BATCH=5000
 * PAGES=50. Writes bench/results/history.json (with the machine's load average).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { encodeChatPayload, Subjects } from '@parley/protocol';
import { mongoStores, type StoredMessage } from '@parley/store';
import { startRealHistory } from '../test/harness.ts';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const MESSAGES = env('MESSAGES', 20_000);
const RATE = env('RATE', 5_000);
const SECONDS = env('SECONDS', 10);
const ROOMS = env('ROOMS', 50);
const USERS = env('USERS', 7);
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

const prefix = `bench${Date.now().toString(36)}`;
const h = await startRealHistory(urls, prefix);
const { bridge, writer } = h.service;
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
const until = async (cond: () => boolean, timeoutMs: number) => {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

// The durable starts at the stream's beginning: wait until the backlog of earlier runs is through.
await new Promise((r) => setTimeout(r, 3_000));
const settled = async () => (await bridge.pending()) === 0 && (await writer.lag()) === 0;
for (let i = 0; i < 300 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 1_000));

const loadAtStart = loadavg().map((l) => Number(l.toFixed(1)));
const b0 = bridge.forwarded;
const w0 = writer.written;
const t0 = performance.now();
for (let k = 0; k < MESSAGES; k += 500)
  await Promise.all(Array.from({ length: Math.min(500, MESSAGES - k) }, append));
const appendS = (performance.now() - t0) / 1000;
await until(() => bridge.forwarded - b0 >= MESSAGES, 600_000);
const bridgeS = (performance.now() - t0) / 1000;
const allWritten = await until(() => writer.written - w0 >= MESSAGES, 600_000);
const writeS = (performance.now() - t0) / 1000;

h.service.metrics.persistLag.reset();
const w1 = writer.written;
const tick = 50;
const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
const inflight: Promise<unknown>[] = [];
const t1 = performance.now();
while (performance.now() - t1 < SECONDS * 1000) {
  for (let i = 0; i < perTick; i++) inflight.push(append());
  await new Promise((r) => setTimeout(r, tick));
}
const rateS = (performance.now() - t1) / 1000;
await Promise.all(inflight);
await until(() => writer.written - w1 >= inflight.length, 120_000);
const lag = await h.service.metrics.persistLag.get();
const quantile = (q: number) => {
  const buckets = lag.values.filter((v) => v.metricName?.endsWith('_bucket'));
  const total = buckets.find((b) => b.labels.le === '+Inf')?.value ?? 0;
  return buckets.find((b) => b.value >= q * total)?.labels.le;
};

const burst = {
  appendPerSec: Math.round(MESSAGES / appendS),
  bridgePerSec: Math.round(MESSAGES / bridgeS),
  pipelinePerSec: allWritten ? Math.round(MESSAGES / writeS) : null,
};
const fixedRate = {
  ratePerSec: RATE,
  seconds: SECONDS,
  sent: inflight.length,
  achievedPerSec: Math.round(inflight.length / rateS),
  persistLagP50LeMs: quantile(0.5),
  persistLagP99LeMs: quantile(0.99),
};
const loadAfterPipeline = loadavg().map((l) => Number(l.toFixed(1)));
console.log('burst', burst, 'fixed rate', fixedRate);

// 3. Page latency on one big room, filled directly (the pipeline would take far longer). Measured
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
  machine: {
    cpus: cpus().length,
    loadAvg1m5m15mAtStart: loadAtStart,
    loadAvg1m5m15mAfterPipeline: loadAfterPipeline,
    loadAvg1m5m15mAtEnd: loadavg().map((l) => Number(l.toFixed(1))),
  },
  messages: MESSAGES,
  rooms: ROOMS,
  users: USERS,
  burst,
  fixedRate,
  page: {
    limit: PAGE,
    via: 'history.query over NATS (store page: find room, seq < before, sort seq desc, limit 51)',
    filledMessages: filled,
    fillWriteSeconds: Number((fillMs / 1000).toFixed(1)),
    at: pageAt,
  },
};
console.table({ ...result.burst, ...result.fixedRate });
console.table(result.page.at);
console.log('load average at start/end:', result.machine);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/history.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
await h.stop();
process.exit(0);
