/** Standalone presence service: config from the environment, NATS required, SIGTERM drains. */
import { createLogger } from '@parley/log';
import { connectBus, runService, verifierFrom } from '@parley/runtime';
import { loadPresenceConfig } from './config.ts';
import { PresenceService } from './service.ts';

await runService('presence', async () => {
  const cfg = loadPresenceConfig(process.env);
  const log = createLogger({ service: 'presence', level: cfg.logLevel });
  const bus = await connectBus(cfg, 'presence', log);
  const presence = new PresenceService({ cfg, bus, verifier: await verifierFrom(cfg), log });
  await presence.start();
  return {
    drain: async () => {
      await presence.drain();
      await bus.drain();
    },
  };
});
