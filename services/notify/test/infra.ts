/**
 * Test helper for integration tests: real drivers (NATS, Kafka, a Mongo-wire db with a unique
 * name), an in-process gateway from @parley/gateway, and user tokens. Everything is closed by `close`.
 *
 * NATS is a private server per test file, not the shared one: `notify.query` is served by queue
 * group 'notify', so on a shared server any other run's notify instance may answer this file's
 * gateway from another database (an unread frame came back empty that way), and this file's
 * notify would answer theirs.
 */
import { DEV_SECRET, signToken } from '@parley/auth';
import { createNatsBus } from '@parley/bus';
import { Gateway, loadGatewayConfig } from '@parley/gateway';
import { createTestLogger } from '@parley/log';
import { verifierFrom } from '@parley/runtime';
import { type MongoHandle, mongoStores, openMongo } from '@parley/store';
import { createKafkaStream } from '@parley/stream';
import { type ServerHandle, startNats, uniquePrefix } from '@parley/testkit';
import type { Drivers } from './harness.ts';

export interface RealDrivers extends Drivers {
  mongo: MongoHandle;
  /** The private NATS server's URL, for gateways and child processes of the same test. */
  natsUrl: string;
  close(): Promise<void>;
}

export async function realDrivers(
  urls: { kafkaBrokers: string; mongoUrl: string },
  db = uniquePrefix('notify'),
): Promise<RealDrivers> {
  const nats: ServerHandle = await startNats({ own: true });
  const bus = await createNatsBus({ servers: nats.url, name: 'notify-test' });
  const stream = createKafkaStream({ brokers: urls.kafkaBrokers.split(','), clientId: 'notify-test' });
  await stream.start();
  const mongo = await openMongo(urls.mongoUrl, db);
  return {
    bus,
    stream,
    stores: mongoStores(mongo.db),
    mongo,
    natsUrl: nats.url,
    async close() {
      await stream.stop();
      await bus.close();
      await mongo.db.dropDatabase().catch(() => {});
      await mongo.close();
      await nats[Symbol.asyncDispose]();
    },
  };
}

export async function startGateway(natsUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const cfg = loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', NATS_URL: natsUrl });
  const bus = await createNatsBus({ servers: natsUrl, name: 'gateway-test' });
  const gateway = new Gateway({
    cfg,
    bus,
    verifier: await verifierFrom(cfg),
    log: createTestLogger().logger,
  });
  const port = await gateway.start();
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      await gateway.stop();
      await bus.close();
    },
  };
}

export const userToken = (sub: string) => signToken(DEV_SECRET, { sub, rooms: ['*'] });
