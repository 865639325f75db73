/**
 * The durable pipeline (Kafka in production): partitioned, ordered per key, replayable topics.
 * Drivers: stream.memory.ts (embedded mode, unit tests) and stream.kafka.ts (kafkajs).
 * stream.contract.ts is the suite both must pass.
 */

export interface OutRecord {
  /** Records with the same key go to the same partition and keep their order. */
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface InRecord extends OutRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: number;
}

export interface StreamConsumer {
  stop(): Promise<void>;
  /** Records produced but not yet committed by this group, summed over partitions (consumer lag). */
  lag(): Promise<number>;
}

export interface ConsumeOptions {
  group: string;
  topics: string[];
  /** Where a group with no committed offset starts. Default: earliest. */
  fromBeginning?: boolean;
  /** Upper bound on records per handler call. */
  maxBatch?: number;
}

/**
 * Producer and consumer groups.
 * - `send` resolves only when every record is durably stored (acks=all); retries never duplicate
 *   (idempotent producer); order is kept per key.
 * - `consume` is at least once: a batch's offsets are committed only after the handler resolves; a
 *   rejection is retried with back-off from the same offset. Batches of one partition are handed
 *   over one at a time, in order; partitions run independently.
 */
export interface EventStream {
  start(): Promise<void>;
  ensureTopics(topics: { topic: string; partitions?: number }[]): Promise<void>;
  send(topic: string, records: OutRecord[]): Promise<void>;
  consume(opts: ConsumeOptions, handler: (batch: InRecord[]) => Promise<void>): Promise<StreamConsumer>;
  stop(): Promise<void>;
}
