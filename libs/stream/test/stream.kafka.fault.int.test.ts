/**
 * Kafka stops for ~10 s under a continuous producer and a live consumer group, on its own broker
 * so the shared one is never disturbed. Checks: every `send` settles within the send timeout
 * (never hangs); every resolved send is consumed after the restart (nothing acked is lost);
 * nothing is consumed that was not sent. Duplicates are allowed (at least once) and reported.
 */
import { eventually, type ServerHandle, startKafka, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKafkaStream } from '../src/stream.kafka.ts';
import type { EventStream, InRecord } from '../src/stream.ts';

const SEND_TIMEOUT_MS = 30_000;
const OUTAGE_MS = 10_000;
const SEND_EVERY_MS = 20;

let kafka: ServerHandle;
let stream: EventStream;

beforeAll(async () => {
  kafka = await startKafka({ own: true });
  stream = createKafkaStream({
    brokers: [kafka.url],
    clientId: 'stream-fault',
    sendTimeoutMs: SEND_TIMEOUT_MS,
  });
  await stream.start();
});

afterAll(async () => {
  await stream?.stop();
  await kafka?.[Symbol.asyncDispose]();
});

interface Outcome {
  values: string[];
  ok: boolean;
  ms: number;
}

it('never hangs a send and loses no acked record across a broker stop/start', async () => {
  const topic = uniquePrefix('fault');
  await stream.ensureTopics([{ topic, partitions: 3 }]);
  const consumed: InRecord[] = [];
  const consumer = await stream.consume({ group: uniquePrefix('g'), topics: [topic] }, async (batch) => {
    consumed.push(...batch);
  });

  const outcomes: Promise<Outcome>[] = [];
  let n = 0;
  const producing = setInterval(() => {
    const values = [0, 1, 2].map((i) => `v${n}-${i}`);
    const records = values.map((value, i) => ({ key: `k${(n + i) % 10}`, value }));
    n++;
    const t0 = Date.now();
    outcomes.push(
      stream.send(topic, records).then(
        () => ({ values, ok: true, ms: Date.now() - t0 }),
        () => ({ values, ok: false, ms: Date.now() - t0 }),
      ),
    );
  }, SEND_EVERY_MS);

  await sleep(3_000);
  await kafka.stop();
  await sleep(OUTAGE_MS);
  await kafka.start();
  await sleep(5_000);
  clearInterval(producing);

  const settled = await Promise.all(outcomes);
  const acked = settled.filter((o) => o.ok).flatMap((o) => o.values);
  const failed = settled.filter((o) => !o.ok);
  const slowest = Math.max(...settled.map((o) => o.ms));
  console.log(
    `sends: ${settled.length}, resolved: ${settled.length - failed.length}, rejected: ${failed.length}, slowest ${slowest} ms`,
  );
  expect(slowest).toBeLessThanOrEqual(SEND_TIMEOUT_MS + 1_000);
  // Sends before the stop and after the restart must have been stored.
  expect(settled[0]?.ok).toBe(true);
  expect(settled.at(-1)?.ok).toBe(true);

  const sent = new Set(settled.flatMap((o) => o.values));
  await eventually(
    () => {
      const got = new Set(consumed.map((r) => r.value));
      expect(acked.filter((v) => !got.has(v))).toEqual([]);
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  expect(consumed.filter((r) => !sent.has(r.value))).toEqual([]);
  console.log(
    `consumed ${consumed.length} records, ${consumed.length - new Set(consumed.map((r) => r.value)).size} duplicates`,
  );
  await consumer.stop();
}, 240_000);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
