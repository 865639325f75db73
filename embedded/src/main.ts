/** `npm start`: everything in one process, with a banner saying where to go next. */
import { usesDevSecret } from '@parley/config';
import { createLogger } from '@parley/log';
import { runService } from '@parley/runtime';
import { startEmbedded } from './embedded.ts';

await runService('parley', async () => {
  const log = createLogger({ service: 'parley', level: process.env.LOG_LEVEL ?? 'info' });
  const parley = await startEmbedded(process.env, log);
  const { gateway, history, presence, notify } = parley.ports;
  const devSecret = usesDevSecret({ authSecret: parley.gateway.ctx.cfg.authSecret });
  const lines = [
    '',
    `Parley is running (${parley.memory ? 'embedded, in-memory brokers: nothing persists' : 'embedded, real brokers'}).`,
    `  demo chat   http://localhost:${gateway}/`,
    `  ops page    http://localhost:${gateway}/ops`,
    `  WebSocket   ws://localhost:${gateway}/ws?token=<jwt>`,
    `  services    history :${history}  presence :${presence}  notify :${notify}`,
    `  a token     npm run token -- --sub alice --rooms '*'`,
    devSecret ? '  WARNING     using the built-in dev JWT secret: set AUTH_JWT_SECRET for anything real' : '',
    '',
  ];
  console.log(lines.filter((l) => l !== undefined).join('\n'));
  return { drain: () => parley.stop() };
});
