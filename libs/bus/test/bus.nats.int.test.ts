/**
 * The contract suite on a real nats-server. Stream CHAT is one named stream per server, so this file
 * starts its own server (with the contract's tiny window) instead of sharing the run's.
 */
import { type ServerHandle, startNats } from '@parley/testkit';
import { afterAll, beforeAll } from 'vitest';
import { busContract, CONTRACT_WINDOW } from '../src/bus.contract.ts';
import { createNatsBus } from '../src/bus.nats.ts';

let nats: ServerHandle;
beforeAll(async () => {
  nats = await startNats({ own: true });
});
afterAll(async () => {
  await nats?.stop();
});

const connect = (name: string, directBatch?: boolean) =>
  createNatsBus({
    servers: nats.url,
    name,
    window: CONTRACT_WINDOW,
    ...(directBatch === undefined ? {} : { directBatch }),
  });

busContract('nats', async () => {
  const [bus, extra] = await Promise.all([connect('contract'), connect('contract-extra')]);
  return { bus, extra, cleanup: () => Promise.all([bus.close(), extra.close()]).then(() => {}) };
});

// Servers before 2.11 have no batch direct get; the per-message fallback must pass the same suite.
busContract('nats, one direct get per message', async () => {
  const bus = await connect('contract-single', false);
  return { bus, cleanup: () => bus.close() };
});
