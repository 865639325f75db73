/**
 * Integration helpers: a history service on real drivers, isolated by a unique prefix (its own
 * durable, group, topics and database), a continuous appender that records every acked (room, seq),
 * and the exactly-once check against Mongo.
 */
import { createVerifier, DEV_SECRET } from '@parley/auth';
import { type Bus, createNatsBus } from '@parley/bus';
import { createLogger, createTestLogger } from '@parley/log';
import { encodeChatPayload } from '@parley/protocol';
import { type MongoHandle, mongoStores, openMongo } from '@parley/store';
import { createKafkaStream, type EventStream } from '@parley/stream';
import { deleteConsumer } from '@parley/testkit';
import { expect } from 'vitest';
import { loadHistoryConfig } from '../src/config.ts';
import { HistoryService } from '../src/service.ts';

export interface Urls {
  natsUrl: string;
  kafkaBrokers: string;
  mongoUrl: string;
}

/** Env for a history instance whose names are all under `prefix` (shared servers stay isolated). */
export function historyEnv(urls: Urls, prefix: string, extra: Record<string, string> = {}) {
  return {
    NATS_URL: urls.natsUrl,
    KAFKA_BROKERS: urls.kafkaBrokers,
    MONGO_URL: urls.mongoUrl,
    MONGO_DB: prefix,
    HISTORY_PORT: '0',
    HISTORY_HOST: '127.0.0.1',
    HISTORY_BRIDGE_DURABLE: prefix,
    HISTORY_WRITER_GROUP: prefix,
    HISTORY_TOPIC: `${prefix}.chat.messages`,
    HISTORY_DEAD_TOPIC: `${prefix}.chat.messages.dead`,
    HISTORY_RETRY_MAX: '500ms',
    // Short: a batch whose ack died with a killed process or server is redelivered soon.
    HISTORY_BRIDGE_ACK_WAIT: '2s',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export interface RealHistory {
  service: HistoryService;
  bus: Bus;
  stream: EventStream;
  mongo: MongoHandle;
  stop(): Promise<void>;
}

/** The in-process service on its own NATS, Kafka and Mongo connections. */
export async function startRealHistory(urls: Urls, prefix: string, extra: Record<string, string> = {}) {
  const cfg = loadHistoryConfig(historyEnv(urls, prefix, extra));
  const log = process.env.HISTORY_TEST_LOG
    ? createLogger({ service: 'history', level: process.env.HISTORY_TEST_LOG })
    : createTestLogger({ level: 'warn' }).logger;
  const bus = await createNatsBus({
    servers: urls.natsUrl,
    name: `history-${prefix}`,
    appendTimeoutMs: 2_000,
    consumerAckWaitMs: cfg.bridgeAckWaitMs,
  });
  const stream = createKafkaStream({ brokers: [urls.kafkaBrokers], clientId: prefix, sendTimeoutMs: 15_000 });
  await stream.start();
  const mongo = await openMongo(urls.mongoUrl, prefix, { serverSelectionTimeoutMS: 2_000 });
  const verifier = await createVerifier({ secret: DEV_SECRET });
  const service = new HistoryService({ cfg, bus, stream, stores: mongoStores(mongo.db), verifier, log });
  await service.start();
  const stop = async () => {
    await service.drain();
    await stream.stop();
    await bus.close();
    await mongo.close();
    // A left-over durable would make CHAT_LOG keep every later message of the shared server.
    await deleteConsumer(urls.natsUrl, 'CHAT_LOG', cfg.durable).catch(() => {});
  };
  return { service, bus, stream, mongo, stop } satisfies RealHistory;
}

export const key = (room: string, seq: number) => `${room}|${seq}`;

/**
 * Appends continuously over `rooms` from `lanes` concurrent loops, each about every `everyMs`.
 * A failed append is retried with the same msgId until acked (the stream de-duplicates), so every
 * message that can reach the stream is eventually acked exactly once: `acked` is then the whole
 * truth the pipeline must reproduce.
 */
export class Appender {
  readonly acked = new Set<string>();
  failures = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly bus: Bus,
    private readonly rooms: string[],
    lanes: number,
    private readonly everyMs: number,
  ) {
    this.loops = Array.from({ length: lanes }, (_, lane) => this.loop(lane));
  }

  /** Stops appending; resolves once every started message is acked. */
  async stop(): Promise<number> {
    this.running = false;
    await Promise.all(this.loops);
    return this.acked.size;
  }

  private async loop(lane: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const room = this.rooms[(lane + i) % this.rooms.length]!;
      const id = `${lane}-${i}`;
      const payload = encodeChatPayload({
        msgId: id,
        from: `u${lane}`,
        body: `m ${id}`,
        ts: Date.now(),
        clientMsgId: id,
      });
      for (;;) {
        try {
          const r = await this.bus.chat.append(room, payload, `${room}:${id}`);
          this.acked.add(key(room, r.seq));
          break;
        } catch {
          this.failures++;
          await sleep(100);
        }
      }
      await sleep(this.everyMs);
    }
  }
}

/** Every (room, seq) stored for these rooms, and how many documents hold them (more = duplicates). */
export async function storedKeys(
  mongo: MongoHandle,
  rooms: string[],
): Promise<{ keys: Set<string>; docs: number }> {
  const docs = await mongo.db
    .collection('messages')
    .find({ room: { $in: rooms } }, { projection: { _id: 0, room: 1, seq: 1 } })
    .toArray();
  return { keys: new Set(docs.map((d) => key(d.room as string, d.seq as number))), docs: docs.length };
}

/** Waits until Mongo holds exactly the acked set: nothing missing, nothing extra, no duplicates. */
export async function expectExactlyAcked(
  mongo: MongoHandle,
  rooms: string[],
  acked: Set<string>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { keys, docs } = await storedKeys(mongo, rooms).catch(() => ({ keys: new Set<string>(), docs: 0 }));
    const missing = [...acked].filter((k) => !keys.has(k));
    const extra = [...keys].filter((k) => !acked.has(k));
    const done = missing.length === 0 && extra.length === 0;
    if (done || Date.now() > deadline) {
      expect({ missing: missing.slice(0, 10), extra: extra.slice(0, 10), docs }).toEqual({
        missing: [],
        extra: [],
        docs: acked.size,
      });
      return;
    }
    await sleep(500);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
