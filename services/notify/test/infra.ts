/**
 * Test helper for integration tests: real drivers (NATS, Kafka, a Mongo-wire db with a unique
 * name), an in-process gateway from @parley/gateway, and user tokens. Everything is closed by `close`.
 */
import { DEV_SECRET, signToken } from '@parley/auth';
import { createNatsBus } from '@parley/bus';
import { Gateway, loadGatewayConfig } from '@parley/gateway';
import { createTestLogger } from '@parley/log';
import { verifierFrom } from '@parley/runtime';
import { type MongoHandle, mongoStores, openMongo } from '@parley/store';
import { createKafkaStream } from '@parley/stream';
import { uniquePrefix } from '@parley/testkit';
import type { Drivers } from './harness.ts';

export interface RealDrivers extends Drivers {
  mongo: MongoHandle;
  close(): Promise<void>;
}

export async function realDrivers(
  urls: { natsUrl: string; kafkaBrokers: string; mongoUrl: string },
  db = uniquePrefix('notify'),
): Promise<RealDrivers> {
  const bus = await createNatsBus({ servers: urls.natsUrl, name: 'notify-test' });
  const stream = createKafkaStream({ brokers: urls.kafkaBrokers.split(','), clientId: 'notify-test' });
  await stream.start();
  const mongo = await openMongo(urls.mongoUrl, db);
  return {
    bus,
    stream,
    stores: mongoStores(mongo.db),
    mongo,
    async close() {
      await stream.stop();
      await bus.close();
      await mongo.db.dropDatabase().catch(() => {});
      await mongo.close();
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
