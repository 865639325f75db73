/** Standalone gateway: config from the environment, NATS required, SIGTERM drains. */
import { createLogger } from '@parley/log';
import { connectBus, runService, verifierFrom } from '@parley/runtime';
import { loadGatewayConfig } from './config.ts';
import { Gateway } from './gateway.ts';

await runService('gateway', async () => {
  const cfg = loadGatewayConfig(process.env);
  const log = createLogger({ service: 'gateway', level: cfg.logLevel });
  const bus = await connectBus(cfg, 'gateway', log);
  const gateway = new Gateway({ cfg, bus, verifier: await verifierFrom(cfg), log });
  await gateway.start();
  return {
    drain: async () => {
      await gateway.drain();
      await bus.drain();
    },
  };
});
