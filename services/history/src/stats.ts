/**
 * The ops.stats heartbeat and the lag gauges. Lags are sampled here (one consumer-info request and
 * one Kafka offsets request per period) rather than on every scrape, so scrapes stay cheap and a
 * dependency outage cannot slow /metrics down.
 */
import type { Bus } from '@parley/bus';
import { Subjects } from '@parley/protocol';
import type { Bridge } from './bridge.ts';
import type { HistoryMetrics } from './metrics.ts';
import type { Writer } from './writer.ts';

export interface HistoryStats {
  service: 'history';
  instance: string;
  ts: number;
  /** Messages forwarded to Kafka / written to Mongo since start, and per second over the last period. */
  bridged: number;
  written: number;
  writtenPerSec: number;
  deadLetters: number;
  /**
   * Acked messages stream CHAT evicted before CHAT_LOG copied them, so missing from history, since
   * CHAT_LOG was created (as of the newest message this instance bridged; the same level on every
   * instance). Anything above 0 is data loss: see the bridge's error log for the fix.
   */
  sourceGap: number;
  /** Last sampled bridge lag (JetStream) and writer lag (Kafka); null when the sample failed. */
  bridgePending: number | null;
  kafkaLag: number | null;
}

export class Stats {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastWritten = 0;
  private lastAt = Date.now();

  constructor(
    private readonly bus: Bus,
    private readonly instance: string,
    private readonly periodMs: number,
    private readonly bridge: Pick<Bridge, 'forwarded' | 'pending' | 'sourceGap'>,
    private readonly writer: Pick<Writer, 'written' | 'deadLettered' | 'lag'>,
    private readonly metrics: HistoryMetrics,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One sample; a tick still waiting on a slow dependency makes the next one skip. */
  async tick(): Promise<HistoryStats | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      const [pending, lag] = await Promise.all([
        this.bridge.pending().catch(() => null),
        this.writer.lag().catch(() => null),
      ]);
      if (pending !== null) this.metrics.bridgePending.set(pending);
      if (lag !== null) this.metrics.kafkaLag.set(lag);
      const now = Date.now();
      const written = this.writer.written;
      const stats: HistoryStats = {
        service: 'history',
        instance: this.instance,
        ts: now,
        bridged: this.bridge.forwarded,
        written,
        writtenPerSec: Math.round(((written - this.lastWritten) * 1000) / Math.max(1, now - this.lastAt)),
        deadLetters: this.writer.deadLettered,
        sourceGap: this.bridge.sourceGap,
        bridgePending: pending,
        kafkaLag: lag,
      };
      this.lastWritten = written;
      this.lastAt = now;
      this.bus.publish(Subjects.opsStats, JSON.stringify(stats));
      return stats;
    } finally {
      this.busy = false;
    }
  }
}
