/**
 * The Mongo-wire server goes away under a writer: writes reject (never hang) within a bounded time
 * while it is down, and after a restart the retried batch lands exactly once. Uses its own server so
 * stopping it cannot disturb other test files.
 */
import { eventually, startMongo, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isStoreUnavailable, type MongoHandle, openMongo } from '../src/mongo.ts';
import { msg } from '../src/store.contract.ts';
import { mongoStores } from '../src/stores.ts';

/** Server selection gives up after this long: the bound on how long a write waits for a dead server. */
const SELECTION_MS = 1500;

let server: Awaited<ReturnType<typeof startMongo>>;
let mongo: MongoHandle;

beforeAll(async () => {
  server = await startMongo({ own: true });
  mongo = await openMongo(server.url, uniquePrefix('store_fault'), {
    serverSelectionTimeoutMS: SELECTION_MS,
    connectTimeoutMS: 1000,
    socketTimeoutMS: 5000,
  });
});
afterAll(async () => {
  await mongo?.close();
  await server?.[Symbol.asyncDispose]();
});

it('rejects writes promptly while the server is down, and a retried batch lands once after restart', async () => {
  const { sink, messages } = mongoStores(mongo.db);
  await sink.write([msg('r', 1), msg('r', 2)]);

  await server.stop();
  const batch = [msg('r', 3), msg('r', 4), msg('r', 5)];
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    const err = await sink.write(batch).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStoreUnavailable(err), String(err)).toBe(true);
    // Selection timeout plus scheduling slack on a loaded machine: bounded, not hung.
    expect(performance.now() - t0).toBeLessThan(SELECTION_MS + 4000);
  }

  await server.start();
  // The writer's retry loop: the same batch until it is accepted.
  await eventually(() => sink.write(batch), { timeoutMs: 30_000, intervalMs: 250 });
  await sink.write(batch);
  const page = await messages.page('r', undefined, 100);
  expect(page.messages.map((m) => [m.seq, m.prev])).toEqual([
    [1, 0],
    [2, 1],
    [3, 2],
    [4, 3],
    [5, 4],
  ]);
  expect(await mongo.db.collection('messages').countDocuments({ room: 'r' })).toBe(5);
});
