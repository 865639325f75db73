/**
 * The bridge: durable JetStream consumer on stream CHAT -> Kafka `chat.messages`.
 *
 * Guarantees: a JetStream batch is acknowledged only after Kafka acknowledged every record of it
 * (the consume handler resolves after `send` resolves), so an acked chat message is in Kafka or
 * still in JetStream, through any crash. Redelivery can put a message into Kafka twice; the writer's
 * upsert by (room, seq) absorbs that. Memory is bounded: one batch of at most `batch` messages is
 * in flight; while Kafka is slow or down the pull loop simply waits (JetStream holds the backlog).
 * Stream order is kept: one batch at a time, and the producer keeps per-key order.
 *
 * The one loss it cannot prevent happens upstream: stream CHAT_LOG copies CHAT asynchronously, and a
 * message CHAT evicted from its room's window before the copy never arrives. The bus reports such
 * messages; the bridge counts them (`sourceGap`, a level shared by all instances), logs an error
 * naming the cause and the fix, and shows them in ops.stats. See docs/architecture.md.
 */
import type { ChatConsumer, ChatLog, ChatRecord, SourceGap } from '@parley/bus';
import type { Logger } from '@parley/log';
import type { EventStream } from '@parley/stream';
import type { HistoryMetrics } from './metrics.ts';
import { encodeRecord } from './record.ts';

export interface BridgeDeps {
  chat: ChatLog;
  stream: EventStream;
  metrics: HistoryMetrics;
  log: Logger;
  durable: string;
  topic: string;
  batch: number;
}

export class Bridge {
  private consumer: ChatConsumer | undefined;
  private failures = 0;
  forwarded = 0;
  /** Acked messages missing from CHAT_LOG (so from history) since it was created, as last seen. */
  sourceGap = 0;

  constructor(private readonly d: BridgeDeps) {}

  start(): void {
    this.consumer = this.d.chat.consume(this.d.durable, (batch) => this.forward(batch), {
      batch: this.d.batch,
      onSourceGap: (gap) => this.lost(gap),
    });
  }

  /** Messages of stream CHAT this durable has not acknowledged yet (bridge lag). */
  pending(): Promise<number> {
    return this.consumer ? this.consumer.pending() : Promise.resolve(0);
  }

  /** Resolves once the in-flight batch is settled (acked after Kafka acked, or left for redelivery). */
  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  private lost(gap: SourceGap): void {
    this.sourceGap = Math.max(this.sourceGap, gap.lost);
    this.d.metrics.sourceGap.set(this.sourceGap);
    this.d.log.error(
      {
        missing: gap.missing,
        lost: gap.lost,
        betweenSeqs: [gap.afterSeq, gap.beforeSeq],
        fix: 'raise CHAT_WINDOW_MESSAGES: the gateways appended to a room faster than stream CHAT_LOG copied stream CHAT, by more than the window',
      },
      'bridge: stream CHAT evicted acked messages before CHAT_LOG copied them; they are missing from history (deep recovery of those rooms will skip them)',
    );
  }

  private async forward(batch: ChatRecord[]): Promise<void> {
    const { metrics, stream, topic } = this.d;
    const t0 = performance.now();
    try {
      await stream.send(topic, batch.map(encodeRecord));
    } catch (err) {
      metrics.retries.inc({ stage: 'bridge' });
      // One line per outage, then one per 20 failures: a Kafka outage must not flood the log.
      if (this.failures++ % 20 === 0)
        this.d.log.warn({ err: String(err), failures: this.failures }, 'bridge: Kafka send failed; retrying');
      throw err;
    }
    if (this.failures > 0) this.d.log.info({ failures: this.failures }, 'bridge: Kafka send recovered');
    this.failures = 0;
    this.forwarded += batch.length;
    metrics.sendMs.observe(performance.now() - t0);
    metrics.batchSize.observe({ stage: 'bridge' }, batch.length);
    metrics.bridged.inc(batch.length);
  }
}
