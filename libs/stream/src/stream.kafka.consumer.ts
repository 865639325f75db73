/**
 * One member of a Kafka consumer group (kafkajs `eachBatch`, manual commits).
 *
 * Guarantees, on top of kafkajs:
 * - at least once: a chunk's offsets are resolved and committed only after the handler resolved
 *   it; a commit that fails (rebalance) leaves the chunk to be delivered again;
 * - a rejected chunk pauses only its partition, which resumes after a back-off (100 ms doubling to
 *   10 s) and is fetched again from the same offset, forever: a transient error never skips a
 *   record, and other partitions keep flowing meanwhile;
 * - the member heartbeats while a handler runs, so a slow handler does not lose the partitions;
 * - a crash kafkajs would not restart from (a non-retriable error) is restarted here after a
 *   back-off; only stop() ends consumption.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { StreamLog } from './stream.kafka.producer.ts';
import type { ConsumeOptions, InRecord } from './stream.ts';

const DEFAULT_MAX_BATCH = 500;
const HEARTBEAT_MS = 1_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;
const REOPEN_MS = 5_000;

type Handler = (batch: InRecord[]) => Promise<void>;

export class KafkaGroupMember {
  private consumer: Consumer | undefined;
  private stopped = false;
  /** Consecutive handler failures per topic|partition, for the back-off. */
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: ConsumeOptions,
    private readonly handler: Handler,
    private readonly log: StreamLog,
  ) {}

  /** Starts consuming; resolves once the member has joined the group and holds its assignment. */
  async open(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.opts.group,
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: HEARTBEAT_MS,
      // Fetch long-polls block heartbeats, rebalances and stop(): keep them short.
      maxWaitTimeInMs: 1_000,
      allowAutoTopicCreation: false,
      // Retriable errors (coordinator not available yet, broker restarting) restart the consumer.
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) =>
      this.onCrash(consumer, payload.error, payload.restart),
    );
    await consumer.connect();
    await consumer.subscribe({ topics: this.opts.topics, fromBeginning: this.opts.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      // Returning without resolving must leave the offset where it is (redelivery after a failure).
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
    await joined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.consumer?.disconnect();
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const maxBatch = Math.max(1, this.opts.maxBatch ?? DEFAULT_MAX_BATCH);
    for (let i = 0; i < batch.messages.length; i += maxBatch) {
      // Stale: the partition was revoked or seeked; its new position is fetched again.
      if (!isRunning() || isStale()) return;
      const messages = batch.messages.slice(i, i + maxBatch);
      const records = messages.map((m) => toRecord(topic, partition, m));
      try {
        await this.withHeartbeats(this.handler(records), payload.heartbeat);
      } catch (err) {
        this.backOff(payload, err);
        return;
      }
      this.failures.delete(`${topic}|${partition}`);
      const last = messages.at(-1)!.offset;
      payload.resolveOffset(last);
      const next = (BigInt(last) + 1n).toString();
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: next }] }],
      });
    }
  }

  /** Pauses the partition; after the back-off it is fetched again from the last committed chunk. */
  private backOff({ batch, pause }: EachBatchPayload, err: unknown): void {
    const key = `${batch.topic}|${batch.partition}`;
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1));
    this.log('warn', 'stream handler failed; retrying the same records', {
      group: this.opts.group,
      topic: batch.topic,
      partition: batch.partition,
      failures,
      retryInMs: delay,
      error: String(err),
    });
    const resume = pause();
    this.later(delay, resume);
  }

  private async withHeartbeats<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
    const timer = setInterval(() => {
      // A rebalance error here is expected: kafkajs rejoins once this batch returns.
      heartbeat().catch(() => undefined);
    }, HEARTBEAT_MS);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }

  private onCrash(consumer: Consumer, error: Error, restarting: boolean): void {
    if (this.stopped || restarting || consumer !== this.consumer) return;
    this.log('error', 'kafka consumer crashed; reopening', { group: this.opts.group, error: String(error) });
    this.later(REOPEN_MS, () => {
      this.open().catch((err: unknown) => this.onCrash(this.consumer!, err as Error, false));
    });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }
}

function toRecord(topic: string, partition: number, m: KafkaMessage): InRecord {
  const rec: InRecord = {
    topic,
    partition,
    offset: m.offset,
    timestamp: Number(m.timestamp),
    key: m.key?.toString() ?? '',
    value: m.value?.toString() ?? '',
  };
  if (m.headers && Object.keys(m.headers).length > 0) {
    rec.headers = {};
    for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) rec.headers[k] = v.toString();
  }
  return rec;
}
