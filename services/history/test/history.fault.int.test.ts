/**
 * Faults while appending continuously (issue 4): kill -9 of the history service, Kafka stopped for
 * 10 s, the Mongo-wire server stopped for 10 s, nats-server (JetStream on disk) restarted. The
 * appender retries every message with the same msgId until acked, so its acked set is the truth;
 * after recovery the set of (room, seq) in Mongo must equal it: no loss, no duplicates.
 * Each test breaks only servers it started itself; the others are the run's shared ones.
 */
import { createNatsBus } from '@parley/bus';
import { openMongo } from '@parley/store';
import {
  deleteConsumer,
  eventually,
  type ServerHandle,
  startKafka,
  startMongo,
  startNats,
  uniquePrefix,
} from '@parley/testkit';
import { describe, expect, inject, it } from 'vitest';
import { spawnHistory } from './child.ts';
import { Appender, expectExactlyAcked, sleep, startRealHistory, storedKeys, type Urls } from './harness.ts';

const shared: Urls = {
  natsUrl: inject('natsUrl'),
  kafkaBrokers: inject('kafkaBrokers'),
  mongoUrl: inject('mongoUrl'),
};
const ROOMS = 10;
const LANES = 4;
const EVERY_MS = 20; // ~150 appends/s in all on this box
const OUTAGE_MS = 10_000;
const SETTLE_MS = 90_000;

const roomsOf = (prefix: string) => Array.from({ length: ROOMS }, (_, i) => `${prefix}-r${i}`);

/** Until Mongo holds some of the appended messages: the fault then hits a running pipeline. */
async function untilFlowing(mongo: Parameters<typeof storedKeys>[0], rooms: string[]): Promise<void> {
  await eventually(async () => expect((await storedKeys(mongo, rooms)).docs).toBeGreaterThan(100), {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
}

/** In-process history on `urls`; appends, breaks something with `fault`, then checks exactly-once. */
async function underFault(label: string, urls: Urls, fault: () => Promise<void>): Promise<void> {
  const prefix = uniquePrefix(label);
  const rooms = roomsOf(prefix);
  const h = await startRealHistory(urls, prefix);
  const app = new Appender(h.bus, rooms, LANES, EVERY_MS);
  try {
    await untilFlowing(h.mongo, rooms);
    await fault();
    await sleep(2_000); // keep appending after recovery
    const acked = await app.stop();
    await expectExactlyAcked(h.mongo, rooms, app.acked, SETTLE_MS);
    console.log(`${label}: ${acked} acked, ${app.failures} append retries, Mongo holds exactly those`);
  } finally {
    await app.stop();
    await h.stop();
  }
}

async function withServer(start: () => Promise<ServerHandle>, body: (s: ServerHandle) => Promise<void>) {
  const server = await start();
  try {
    await body(server);
  } finally {
    await server[Symbol.asyncDispose]();
  }
}

describe('history: exactly the acked messages reach Mongo through faults', () => {
  it('kill -9 of the history service, then a new process', async () => {
    const prefix = uniquePrefix('kill');
    const rooms = roomsOf(prefix);
    const bus = await createNatsBus({ servers: shared.natsUrl, name: `${prefix}-appender` });
    const mongo = await openMongo(shared.mongoUrl, prefix, { serverSelectionTimeoutMS: 2_000 });
    let history = await spawnHistory(shared, prefix);
    const app = new Appender(bus, rooms, LANES, EVERY_MS);
    try {
      await untilFlowing(mongo, rooms);
      await history.kill();
      await sleep(1_000); // appends go on while no history runs
      history = await spawnHistory(shared, prefix);
      await sleep(2_000);
      const acked = await app.stop();
      await expectExactlyAcked(mongo, rooms, app.acked, SETTLE_MS);
      console.log(`kill -9: ${acked} acked, Mongo holds exactly those`);
    } finally {
      await app.stop();
      await history.kill();
      await bus.close();
      await mongo.close();
      await deleteConsumer(shared.natsUrl, 'CHAT_LOG', prefix).catch(() => {});
    }
  });

  // Each server is this test's own, stopped for `outageMs` while the appends go on.
  const outages: [string, () => Promise<ServerHandle>, (url: string) => Urls, number][] = [
    ['Kafka', () => startKafka({ own: true }), (kafkaBrokers) => ({ ...shared, kafkaBrokers }), OUTAGE_MS],
    [
      'Mongo-wire server',
      () => startMongo({ own: true }),
      (mongoUrl) => ({ ...shared, mongoUrl }),
      OUTAGE_MS,
    ],
    [
      'nats-server (JetStream on disk)',
      () => startNats({ own: true }),
      (natsUrl) => ({ ...shared, natsUrl }),
      2_000,
    ],
  ];
  it.each(outages)('%s stopped, then restarted', async (label, start, urls, outageMs) => {
    await withServer(start, (server) =>
      underFault(label.split(' ')[0] ?? label, urls(server.url), async () => {
        await server.stop();
        await sleep(outageMs);
        await server.start();
      }),
    );
  });
});
