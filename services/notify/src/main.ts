/** Standalone notify: config from the environment, NATS, Kafka and Mongo required, SIGTERM drains. */
import { createLogger } from '@parley/log';
import { connectBus, openStores, openStream, runService, verifierFrom } from '@parley/runtime';
import { loadNotifyConfig } from './config.ts';
import { NotifyService } from './service.ts';

await runService('notify', async () => {
  const cfg = loadNotifyConfig(process.env);
  const log = createLogger({ service: 'notify', level: cfg.logLevel });
  const bus = await connectBus(cfg, 'notify', log);
  const stream = await openStream(cfg, 'notify', log);
  const store = await openStores(cfg);
  const notify = new NotifyService({
    cfg,
    bus,
    stream,
    stores: store.stores,
    verifier: await verifierFrom(cfg),
    log,
  });
  await notify.start();
  return {
    drain: async () => {
      await notify.drain();
      await stream.stop();
      await bus.drain();
      await store.close();
    },
  };
});
