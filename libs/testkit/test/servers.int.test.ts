import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  eventually,
  type ServerHandle,
  startKafka,
  startMongo,
  startNats,
  uniquePrefix,
} from '../src/index.ts';

// Fault tests: each server is started by this file (`own`: never the shared ones, even when the
// environment names them), killed with
// SIGKILL, restarted, and must still hold the data written before the kill.

// LocalServer exposes its pid for exactly this check; it is not part of ServerHandle.
const pidOf = (h: ServerHandle): number | undefined => (h as unknown as { pid?: number }).pid;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function expectStoppedCleanly(h: ServerHandle): Promise<void> {
  const pid = pidOf(h);
  expect(pid).toBeTypeOf('number');
  await h[Symbol.asyncDispose]();
  expect(alive(pid!)).toBe(false);
}

describe('global setup', () => {
  it('provides the shared server URLs', () => {
    expect(inject('natsUrl')).toMatch(/^nats:\/\//);
    expect(inject('kafkaBrokers')).toMatch(/:\d+$/);
    expect(inject('mongoUrl')).toMatch(/^mongodb:\/\//);
  });
});

describe('nats', () => {
  let server: ServerHandle;
  afterAll(async () => server?.[Symbol.asyncDispose]());

  it('keeps a JetStream message across kill -9 and restart', async () => {
    server = await startNats({ own: true });
    const stream = uniquePrefix('stream');
    const publishAndCheck = async () => {
      const nc = await connect({ servers: server.url });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
        const ack = await jetstream(nc).publish(`${stream}.room1`, 'hello');
        expect(ack.seq).toBe(1);
      } finally {
        await nc.close();
      }
    };
    await publishAndCheck();

    await server.kill();
    await server.start();

    const nc = await connect({ servers: server.url });
    try {
      const msg = await (await jetstreamManager(nc)).streams.getMessage(stream, { seq: 1 });
      expect(msg?.string()).toBe('hello');
    } finally {
      await nc.close();
    }
    await expectStoppedCleanly(server);
  });
});

describe('kafka', () => {
  let server: ServerHandle;
  afterAll(async () => server?.[Symbol.asyncDispose]());

  const client = () =>
    new Kafka({ brokers: [server.url], clientId: uniquePrefix('c'), logLevel: logLevel.NOTHING });

  async function readAll(topic: string, count: number): Promise<string[]> {
    // Short fetch wait: disconnect() waits for the in-flight fetch (5 s by default).
    const consumer = client().consumer({ groupId: uniquePrefix('g'), maxWaitTimeInMs: 200 });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
      await eventually(() => expect(seen).toHaveLength(count), { timeoutMs: 30_000 });
      return seen;
    } finally {
      await consumer.disconnect();
    }
  }

  it('produces with the idempotent producer, consumes, and keeps messages across kill -9', async () => {
    server = await startKafka({ own: true });
    const topic = uniquePrefix('topic');
    const producer = client().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Auto-created topic: the first send may race topic creation, so retry until it lands.
    await eventually(() => producer.send({ topic, acks: -1, messages: [{ key: 'r1', value: 'one' }] }), {
      timeoutMs: 20_000,
    });
    await producer.disconnect();
    expect(await readAll(topic, 1)).toEqual(['one']);

    await server.kill();
    await server.start();

    expect(await readAll(topic, 1)).toEqual(['one']);
    await expectStoppedCleanly(server);
  });
});

describe('mongo', () => {
  let server: ServerHandle;
  afterAll(async () => server?.[Symbol.asyncDispose]());

  it('enforces a unique index and keeps documents across kill -9', async () => {
    server = await startMongo({ own: true });
    // FerretDB's PostgreSQL (when that is the server) must stay up across the kill and go at dispose.
    const pgPid = (server as unknown as { postgresPid?: number }).postgresPid;
    const dbName = uniquePrefix('db');
    let client = new MongoClient(server.url);
    try {
      const msgs = client.db(dbName).collection('messages');
      await msgs.createIndex({ room: 1, seq: 1 }, { unique: true });
      await msgs.insertOne({ room: 'r1', seq: 1, body: 'hi' });
      const dup = await msgs.insertOne({ room: 'r1', seq: 1, body: 'again' }).catch((e: unknown) => e);
      expect(dup).toBeInstanceOf(MongoServerError);
      expect((dup as MongoServerError).code).toBe(11000);
    } finally {
      await client.close();
    }

    await server.kill();
    await server.start();

    client = new MongoClient(server.url);
    try {
      const docs = await client.db(dbName).collection('messages').find({ room: 'r1' }).toArray();
      expect(docs.map((d) => d.body)).toEqual(['hi']);
    } finally {
      await client.close();
    }
    if (pgPid !== undefined) expect(alive(pgPid)).toBe(true);
    await expectStoppedCleanly(server);
    if (pgPid !== undefined) expect(alive(pgPid)).toBe(false);
  });
});
