/**
 * The Kafka write path: every `send` call made while a request is in flight (or in the same tick)
 * joins one `sendBatch`, and at most one request is in flight at a time.
 *
 * Why one in flight: kafkajs's idempotent producer keeps sequence numbers per partition and only
 * advances them on success; concurrent requests can reach the broker out of order
 * (OUT_OF_ORDER_SEQUENCE_NUMBER). Serialising also keeps per-key order across `send` calls.
 *
 * Why the producer is replaced after any failed request: a failed request may still have been
 * written. kafkajs would reuse its sequence numbers for the next batch, and the broker would take
 * that batch for a retry of the written one and ack it without storing it — an acked loss. A new
 * producer gets a new producer id, so its sequences cannot collide with the old ones.
 */
import type { CompressionTypes, Kafka, Producer } from 'kafkajs';
import { StreamError } from './errors.ts';
import type { OutRecord } from './stream.ts';

export type StreamLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
  fields: Record<string, unknown>,
) => void;

interface Pending {
  topic: string;
  records: OutRecord[];
  bytes: number;
  settled: boolean;
  resolve(): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

/** One request carries at most this much (the broker's default message.max.bytes is 1 MiB per
 * partition batch, after compression; 100-byte chat records compress about 4:1 with gzip). */
const MAX_REQUEST_RECORDS = 10_000;
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

export interface ProducerSettings {
  /** A `send` settles within this (resolves stored, or rejects with StreamError 'timeout'). */
  sendTimeoutMs: number;
  compression: CompressionTypes;
  log: StreamLog;
}

export class BatchingProducer {
  private queue: Pending[] = [];
  private draining: Promise<void> | undefined;
  private producer: Promise<Producer> | undefined;
  private readonly retiring = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: ProducerSettings,
  ) {}

  send(topic: string, records: OutRecord[]): Promise<void> {
    if (this.stopped) return Promise.reject(new StreamError('stopped', 'stream is stopped'));
    if (records.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const p: Pending = {
        topic,
        records,
        bytes: sizeOf(records),
        settled: false,
        resolve,
        reject,
        timer: undefined!,
      };
      p.timer = setTimeout(() => {
        this.settle(
          p,
          new StreamError('timeout', `send to ${topic} not acked in ${this.settings.sendTimeoutMs} ms`),
        );
      }, this.settings.sendTimeoutMs);
      this.queue.push(p);
      this.draining ??= this.drain().finally(() => {
        this.draining = undefined;
      });
    });
  }

  /** Connects eagerly so the first send does not pay for it; failures surface on send. */
  async start(): Promise<void> {
    await this.current();
  }

  /** Lets queued sends finish (each is bounded by sendTimeoutMs), then disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.draining;
    if (this.producer) this.retire();
    await Promise.allSettled([...this.retiring]);
  }

  private async drain(): Promise<void> {
    // Sends made in the same tick join the first request.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.take();
      if (batch.length > 0) await this.write(batch);
    }
  }

  /** Whole `send` calls, in call order, up to the request limits (at least one call). */
  private take(): Pending[] {
    const batch: Pending[] = [];
    let records = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.settled) {
        this.queue.shift();
        continue;
      }
      const full =
        records + next.records.length > MAX_REQUEST_RECORDS || bytes + next.bytes > MAX_REQUEST_BYTES;
      if (batch.length > 0 && full) break;
      batch.push(this.queue.shift()!);
      records += next.records.length;
      bytes += next.bytes;
    }
    return batch;
  }

  private async write(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, OutRecord[]>();
    for (const p of batch) {
      const messages = byTopic.get(p.topic) ?? [];
      for (const r of p.records) messages.push(r);
      byTopic.set(p.topic, messages);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const { sendTimeoutMs, compression } = this.settings;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StreamError('timeout', 'Kafka request timed out')), sendTimeoutMs);
    });
    try {
      const request = this.current().then((producer) =>
        producer.sendBatch({ topicMessages, acks: -1, compression, timeout: sendTimeoutMs }),
      );
      await Promise.race([request, timeout]);
      for (const p of batch) this.settle(p);
    } catch (err) {
      this.settings.log('warn', 'kafka send failed; replacing the producer', { error: String(err) });
      this.retire();
      const cause =
        err instanceof StreamError
          ? err
          : new StreamError('unavailable', 'Kafka send failed', { cause: err });
      for (const p of batch) this.settle(p, cause);
    } finally {
      clearTimeout(timer);
    }
  }

  private settle(p: Pending, err?: unknown): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    if (err === undefined) p.resolve();
    else p.reject(err);
  }

  private current(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        // kafkajs requires one in-flight request per connection for idempotence to hold.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Bounded (kafkajs warns that this may break exactly-once: we replace the producer after
        // a failure instead, see the file comment). Worst case about 10 s of retries.
        retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3_000 },
      });
      const connected = producer.connect().then(() => producer);
      // A failed connect must not poison later sends: the next one starts afresh.
      connected.catch(() => {
        if (this.producer === connected) this.producer = undefined;
      });
      this.producer = connected;
    }
    return this.producer;
  }

  /** Drops the current producer; its disconnect runs in the background and is awaited by stop(). */
  private retire(): void {
    const old = this.producer;
    this.producer = undefined;
    if (!old) return;
    const done = old
      .then((p) => p.disconnect())
      .catch(() => undefined)
      .finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }
}

function sizeOf(records: OutRecord[]): number {
  let n = 0;
  for (const r of records) {
    n += r.key.length + r.value.length + 70;
    if (r.headers) for (const [k, v] of Object.entries(r.headers)) n += k.length + v.length;
  }
  return n;
}
