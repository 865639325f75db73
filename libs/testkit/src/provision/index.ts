import { ensureKafkaJars } from './kafka.ts';
import { ensureMongoServer } from './mongo.ts';
import { ensureNatsServer } from './nats.ts';
import type { Log } from './run.ts';

export { ensureKafkaJars, ensureMongoServer, ensureNatsServer };

/** Installs nats-server, Kafka jars and the Mongo-wire server into the cache (no-op when cached). */
export async function provisionAll(log: Log = () => {}): Promise<void> {
  const t0 = Date.now();
  // Sequential on purpose: the Go builds and Maven each saturate 2 cores, so parallel is not faster
  // and interleaved progress lines would be harder to read.
  const nats = await ensureNatsServer(log);
  log(`nats: ${nats}`);
  const kafka = await ensureKafkaJars(log);
  log(`kafka: ${kafka}`);
  const mongo = await ensureMongoServer(log);
  log(`mongo: ${mongo.kind} ${mongo.bin}`);
  log(`provisioned in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
