/**
 * Kafka driver (kafkajs 2.2.4; tested against Kafka 3.9 in KRaft mode). The write path is in
 * stream.kafka.producer.ts, a group member in stream.kafka.consumer.ts; this file wires them to
 * one client and one admin connection (topics, lag).
 */
import { type Admin, CompressionTypes, Kafka, type LogEntry, logLevel } from 'kafkajs';
import { StreamError } from './errors.ts';
import { KafkaGroupMember } from './stream.kafka.consumer.ts';
import { BatchingProducer, type StreamLog } from './stream.kafka.producer.ts';
import type { ConsumeOptions, EventStream, InRecord, OutRecord, StreamConsumer } from './stream.ts';

export type { StreamLog } from './stream.kafka.producer.ts';

export interface KafkaStreamOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs warnings and errors, and this driver's own, land here. Default: dropped. */
  log?: StreamLog;
  /** A `send` settles (stored, or rejected) within this. Default 30 s. */
  sendTimeoutMs?: number;
  /** Default gzip: see README (chat JSON compresses ~4:1, and gzip is the codec built into kafkajs). */
  compression?: 'gzip' | 'none';
}

/** A member that has not joined its group by then is stopped and consume() rejects. */
const JOIN_TIMEOUT_MS = 60_000;

export function createKafkaStream(opts: KafkaStreamOptions): EventStream {
  return new KafkaEventStream(opts);
}

class KafkaEventStream implements EventStream {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: BatchingProducer;
  private readonly members = new Set<KafkaGroupMember>();
  private readonly log: StreamLog;
  private adminReady: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: KafkaStreamOptions) {
    this.log = opts.log ?? (() => undefined);
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => this.fromKafkajs(entry),
    });
    this.admin = this.kafka.admin({ retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 5_000 } });
    this.producer = new BatchingProducer(this.kafka, {
      sendTimeoutMs: opts.sendTimeoutMs ?? 30_000,
      compression: opts.compression === 'none' ? CompressionTypes.None : CompressionTypes.GZIP,
      log: this.log,
    });
  }

  async start(): Promise<void> {
    await this.connectAdmin();
    await this.producer.start();
  }

  /** Creates missing topics and waits for their leaders; existing topics are left as they are. */
  async ensureTopics(topics: { topic: string; partitions?: number }[]): Promise<void> {
    await this.connectAdmin();
    await this.admin.createTopics({
      topics: topics.map(({ topic, partitions }) => ({ topic, numPartitions: partitions ?? -1 })),
      waitForLeaders: true,
    });
  }

  send(topic: string, records: OutRecord[]): Promise<void> {
    return this.producer.send(topic, records);
  }

  async consume(
    opts: ConsumeOptions,
    handler: (batch: InRecord[]) => Promise<void>,
  ): Promise<StreamConsumer> {
    if (this.stopped) throw new StreamError('stopped', 'stream is stopped');
    const member = new KafkaGroupMember(this.kafka, opts, handler, this.log);
    this.members.add(member);
    const stop = async () => {
      this.members.delete(member);
      await member.stop();
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StreamError('timeout', `group ${opts.group} not joined in ${JOIN_TIMEOUT_MS} ms`)),
        JOIN_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([member.open(), timeout]);
    } catch (err) {
      await stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return { stop, lag: () => this.lag(opts) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.members].map((m) => m.stop()));
    await this.producer.stop();
    await this.admin.disconnect();
  }

  /** High watermark minus the group's committed offset, per partition; a partition the group
   * never committed counts from its first retained record (or 0 when starting from the end). */
  private async lag(opts: ConsumeOptions): Promise<number> {
    await this.connectAdmin();
    const committed = await this.admin.fetchOffsets({ groupId: opts.group, topics: opts.topics });
    let lag = 0;
    for (const { topic, partitions } of committed) {
      const ends = await this.admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        const from = offset >= 0 ? offset : opts.fromBeginning === false ? Number(end.high) : Number(end.low);
        lag += Math.max(0, Number(end.high) - from);
      }
    }
    return lag;
  }

  private connectAdmin(): Promise<void> {
    this.adminReady ??= this.admin.connect().catch((err: unknown) => {
      this.adminReady = undefined;
      throw err;
    });
    return this.adminReady;
  }

  private fromKafkajs({ namespace, level, log }: LogEntry): void {
    const { message, ...fields } = log;
    this.log(levelOf(namespace, level, message), `kafkajs ${namespace}: ${message}`, fields);
  }
}

/**
 * kafkajs logs every error response at ERROR, although it retries them (coordinator not available
 * yet, rebalance in progress, topic already exists): those become 'info'. A failure that survives
 * the retries still reaches the caller, or is logged by this driver as a consumer crash.
 * The retry-limit warning is expected: the producer is replaced after a failure instead.
 */
function levelOf(namespace: string, level: logLevel, message: string): 'info' | 'warn' | 'error' {
  if (namespace === 'Connection' && message.startsWith('Response ')) return 'info';
  if (message.startsWith('Limiting retries for the idempotent producer')) return 'info';
  return level <= logLevel.ERROR ? 'error' : 'warn';
}
