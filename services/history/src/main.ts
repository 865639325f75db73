/** Standalone history service: NATS, Kafka and Mongo required (NATS_URL, KAFKA_BROKERS, MONGO_URL). */

import { createNatsBus } from '@parley/bus';
import { usesDevSecret } from '@parley/config';
import { createLogger } from '@parley/log';
import {
  chatWindowOf,
  connectBus,
  driverLog,
  openStores,
  openStream,
  runService,
  verifierFrom,
} from '@parley/runtime';
import { loadHistoryConfig } from './config.ts';
import { HistoryService } from './service.ts';

await runService('history', async () => {
  const cfg = loadHistoryConfig(process.env);
  const log = createLogger({
    service: 'history',
    level: cfg.logLevel,
    ...(cfg.instance ? { instance: cfg.instance } : {}),
  });
  if (usesDevSecret(cfg)) log.warn('AUTH_JWT_SECRET is the dev secret: never run this in production');
  // The bridge's durable gets its own ack_wait (HISTORY_BRIDGE_ACK_WAIT); without NATS_URL,
  // connectBus refuses with the usual config error.
  const bus = cfg.natsUrl
    ? await createNatsBus({
        servers: cfg.natsUrl,
        name: 'history',
        window: chatWindowOf(cfg),
        replicas: cfg.natsReplicas,
        consumerAckWaitMs: cfg.bridgeAckWaitMs,
        log: driverLog(log),
      })
    : await connectBus(cfg, 'history', log);
  const stream = await openStream(cfg, 'history', log);
  const { stores, close } = await openStores(cfg);
  const history = new HistoryService({ cfg, bus, stream, stores, verifier: await verifierFrom(cfg), log });
  await history.start();
  return {
    drain: async () => {
      await history.drain();
      await stream.stop();
      await bus.drain();
      await close();
    },
  };
});
