/**
 * The writer: Kafka `chat.messages` (consumer group) -> Mongo `messages` via the store's MessageSink.
 *
 * Guarantees: a batch's offsets are committed only after its messages are durably written (the
 * handler resolves after `write`), and `write` is idempotent per (room, seq), so every record
 * reaches Mongo exactly once in effect, whatever is redelivered. A room's records come from one
 * partition, handed over one batch at a time, so history fills each room in seq order. While Mongo
 * is down the handler retries the same batch with back-off (the partition waits, nothing is
 * skipped); stop() ends the wait and leaves the batch uncommitted for the next owner. A record that
 * cannot be parsed or is not a valid message goes to the dead-letter topic (with the reason in a
 * header) and never blocks its partition.
 */
import type { Logger } from '@parley/log';
import type { MessageSink, StoredMessage } from '@parley/store';
import type { EventStream, InRecord, StreamConsumer } from '@parley/stream';
import type { HistoryMetrics } from './metrics.ts';
import { decodeRecord } from './record.ts';

export interface WriterDeps {
  stream: EventStream;
  sink: MessageSink;
  metrics: HistoryMetrics;
  log: Logger;
  group: string;
  topic: string;
  deadTopic: string;
  batch: number;
  maxRoomMembers: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export class WriterStopped extends Error {
  override readonly name = 'WriterStopped';
}

export class Writer {
  private consumer: StreamConsumer | undefined;
  private stopping = false;
  /** Ends every back-off at once: partitions retry concurrently, each in its own sleep. */
  private readonly wakers = new Set<() => void>();
  written = 0;
  deadLettered = 0;

  constructor(private readonly d: WriterDeps) {}

  /** Resolves once the member joined its group. May follow stop() (the bench pauses the writer). */
  async start(): Promise<void> {
    const { stream, group, topic, batch } = this.d;
    this.stopping = false;
    this.consumer = await stream.consume({ group, topics: [topic], maxBatch: batch }, (records) =>
      this.handle(records),
    );
  }

  /** Records of the topic the group has not committed yet (Kafka consumer lag). */
  lag(): Promise<number> {
    return this.consumer ? this.consumer.lag() : Promise.resolve(0);
  }

  /** Ends any retry wait, lets the in-flight write settle, and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  /** One partition's batch: valid messages are written first, then invalid records dead-lettered. */
  async handle(records: InRecord[]): Promise<void> {
    const good: StoredMessage[] = [];
    const dead: { rec: InRecord; problem: string }[] = [];
    for (const rec of records) {
      const d = decodeRecord(rec.key, rec.value, this.d.maxRoomMembers);
      if (d.ok) good.push(d.msg);
      else dead.push({ rec, problem: d.problem });
    }
    if (good.length > 0) await this.write(good);
    if (dead.length > 0) await this.deadLetter(dead);
  }

  private async write(batch: StoredMessage[]): Promise<void> {
    const { sink, metrics, log } = this.d;
    let backoff = this.d.retryMinMs;
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) throw new WriterStopped('writer stopping; the batch stays uncommitted');
      const t0 = performance.now();
      try {
        await sink.write(batch);
        metrics.writeMs.observe(performance.now() - t0);
        break;
      } catch (err) {
        metrics.retries.inc({ stage: 'writer' });
        if (attempt % 20 === 1)
          log.warn({ err: String(err), attempt, backoffMs: backoff }, 'writer: Mongo write failed; retrying');
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.d.retryMaxMs);
      }
    }
    const now = Date.now();
    for (const m of batch) metrics.persistLag.observe(Math.max(0, now - m.ts));
    metrics.batchSize.observe({ stage: 'writer' }, batch.length);
    metrics.written.inc(batch.length);
    this.written += batch.length;
  }

  /**
   * Sent before the batch commits: a failed send rejects the batch, which is then retried whole
   * (the write again is a no-op; a dead letter may be sent twice, never lost).
   */
  private async deadLetter(dead: { rec: InRecord; problem: string }[]): Promise<void> {
    const records = dead.map(({ rec, problem }) => ({
      key: rec.key,
      value: rec.value,
      headers: { error: problem, topic: rec.topic, partition: String(rec.partition), offset: rec.offset },
    }));
    await this.d.stream.send(this.d.deadTopic, records);
    const first = dead[0]!;
    this.d.log.warn(
      {
        count: dead.length,
        problem: first.problem,
        topic: first.rec.topic,
        partition: first.rec.partition,
        offset: first.rec.offset,
      },
      'writer: invalid records moved to the dead-letter topic',
    );
    this.d.metrics.deadLetters.inc(dead.length);
    this.deadLettered += dead.length;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
