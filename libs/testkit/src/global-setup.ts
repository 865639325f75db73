import type { TestProject } from 'vitest/node';
import { dockerAvailable } from './docker.ts';
import { startKafka } from './kafka.ts';
import { startMongo } from './mongo.ts';
import { startNats } from './nats.ts';
import { ensureKafkaJars, ensureMongoServer, ensureNatsServer } from './provision/index.ts';
import type { ServerHandle } from './server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** nats://127.0.0.1:PORT of the shared NATS (JetStream on); isolate tests with uniquePrefix(). */
    natsUrl: string;
    /** host:port bootstrap list of the shared Kafka broker. */
    kafkaBrokers: string;
    /** mongodb://127.0.0.1:PORT/ of the shared Mongo-wire server; use a uniquePrefix() db name. */
    mongoUrl: string;
  }
}

// One set of servers per `vitest run`, shared by all int test files (they isolate by prefix).
// Fault tests start their own instances instead, so killing them cannot break other tests.
// Install first, with progress lines: a cold cache takes minutes of downloads and builds that would
// otherwise look like a hang. Silent (~50 ms of version checks) when the cache is warm.
async function provisionVisibly(): Promise<void> {
  if (await dockerAvailable()) return;
  const log = (line: string): void => console.log(`[testkit] ${line}`);
  if (!process.env.NATS_URL) await ensureNatsServer(log);
  if (!process.env.KAFKA_BROKERS) await ensureKafkaJars(log);
  if (!process.env.MONGO_URL) await ensureMongoServer(log);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await provisionVisibly();
  const t0 = performance.now();
  const timed = async (start: () => Promise<ServerHandle>): Promise<[ServerHandle, number]> => {
    const s = performance.now();
    const handle = await start();
    return [handle, (performance.now() - s) / 1000];
  };
  const results = await Promise.allSettled([timed(startNats), timed(startKafka), timed(startMongo)]);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value[0]] : []));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failed.length > 0) {
    await Promise.allSettled(started.map((h) => h[Symbol.asyncDispose]()));
    throw new AggregateError(failed, failed.map((e) => e.message).join('\n\n'));
  }
  const [[nats, tn], [kafka, tk], [mongo, tm]] = results.map(
    (r) => (r as PromiseFulfilledResult<[ServerHandle, number]>).value,
  ) as [[ServerHandle, number], [ServerHandle, number], [ServerHandle, number]];
  project.provide('natsUrl', nats.url);
  project.provide('kafkaBrokers', kafka.url);
  project.provide('mongoUrl', mongo.url);
  const total = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `infra ready in ${total} s: nats ${tn.toFixed(1)} s (${nats.url}), kafka ${tk.toFixed(1)} s (${kafka.url}), ` +
      `mongo ${tm.toFixed(1)} s (${mongo.url})`,
  );
  return async () => {
    await Promise.allSettled([nats, kafka, mongo].map((h) => h[Symbol.asyncDispose]()));
  };
}
