/**
 * Pipeline benchmark on real servers (NATS_URL, KAFKA_BROKERS, MONGO_URL; `npm run infra -- up`):
 *   1. burst: MESSAGES appended as fast as the stream takes them; reports bridge throughput
 *      (JetStream -> Kafka acked) and pipeline throughput (-> Mongo written), msgs/s;
 *   2. fixed rate: RATE msgs/s for SECONDS; reports persistence lag p50/p99 (message ts -> written).
 * Options (env): MESSAGES=20000 RATE=5000 SECONDS=10 ROOMS=50 USERS=7. Writes bench/results/history.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { encodeChatPayload } from '@parley/protocol';
import { startRealHistory } from '../test/harness.ts';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const MESSAGES = env('MESSAGES', 20_000);
const RATE = env('RATE', 5_000);
const SECONDS = env('SECONDS', 10);
const ROOMS = env('ROOMS', 50);
const USERS = env('USERS', 7);
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
await Promise.all(inflight);
await until(() => writer.written - w1 >= inflight.length, 120_000);
const lag = await h.service.metrics.persistLag.get();
const quantile = (q: number) => {
  const buckets = lag.values.filter((v) => v.metricName?.endsWith('_bucket'));
  const total = buckets.find((b) => b.labels.le === '+Inf')?.value ?? 0;
  return buckets.find((b) => b.value >= q * total)?.labels.le;
};
const result = {
  at: new Date().toISOString(),
  servers: 'nats-server (JetStream, file), Kafka KRaft (1 broker), FerretDB v1 on SQLite (Mongo wire)',
  messages: MESSAGES,
  rooms: ROOMS,
  users: USERS,
  burst: {
    appendPerSec: Math.round(MESSAGES / appendS),
    bridgePerSec: Math.round(MESSAGES / bridgeS),
    pipelinePerSec: allWritten ? Math.round(MESSAGES / writeS) : null,
  },
  fixedRate: {
    ratePerSec: RATE,
    seconds: SECONDS,
    persistLagP50LeMs: quantile(0.5),
    persistLagP99LeMs: quantile(0.99),
  },
};
console.table({ ...result.burst, ...result.fixedRate });
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/history.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
await h.stop();
process.exit(0);
