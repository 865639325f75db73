/**
 * What presence knows about each gateway besides its connections: when it was last heard from,
 * its heartbeat interval, the last delta batch applied (`seq`), and whether its state is being
 * resynchronised from a snapshot. Pure, clock injected.
 *
 * Guarantees: a batch is applied only when it is the next one (seq + 1); anything else (a gap, a
 * restarted gateway, a gateway first heard of mid-stream) starts a resynchronisation, during which
 * batches are buffered and, once the snapshot (state after batch S) arrives, those after S are
 * applied on top. A gateway not heard from for DEAD_AFTER_INTERVALS of its own interval is dead.
 */
import type { PresenceDeltaBatch, PresenceHeartbeat } from '@parley/protocol';

export const DEAD_AFTER_INTERVALS = 3;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 60_000;
/** Interval assumed for a gateway heard of through a batch before its first heartbeat. */
const DEFAULT_INTERVAL_MS = 2000;
/** Batches kept while a snapshot is awaited; beyond it the sync starts over. */
const MAX_BUFFER = 10_000;

interface Sync {
  buffer: PresenceDeltaBatch[];
  /** A snapshot request is out; false after a failure (the next heartbeat retries). */
  inFlight: boolean;
  overflow: boolean;
}

interface GatewayInfo {
  lastSeen: number;
  intervalMs: number;
  seq: number;
  sync?: Sync;
}

export type BatchVerdict = 'apply' | 'buffered' | 'resync';

export class GatewayBook {
  private readonly gws = new Map<string, GatewayInfo>();

  constructor(private readonly now: () => number) {}

  get alive(): number {
    return this.gws.size;
  }

  get syncing(): number {
    let n = 0;
    for (const g of this.gws.values()) if (g.sync) n++;
    return n;
  }

  isSyncing(gw: string): boolean {
    return this.gws.get(gw)?.sync !== undefined;
  }

  /** 'resync': the caller requests the gateway's snapshot (the batch is buffered meanwhile). */
  onBatch(b: PresenceDeltaBatch): BatchVerdict {
    let g = this.gws.get(b.gw);
    if (!g) {
      g = { lastSeen: this.now(), intervalMs: DEFAULT_INTERVAL_MS, seq: 0 };
      this.gws.set(b.gw, g);
    }
    g.lastSeen = this.now();
    if (g.sync) {
      this.buffer(g.sync, b);
      return 'buffered';
    }
    if (b.seq === undefined || b.seq === g.seq + 1) {
      g.seq = b.seq ?? g.seq;
      return 'apply';
    }
    g.sync = { buffer: [b], inFlight: true, overflow: false };
    return 'resync';
  }

  /** 'resync' when the gateway is new to us, out of step, or its digest differs from `ours`. */
  onHeartbeat(hb: PresenceHeartbeat, ours: (gw: string) => string): 'ok' | 'resync' {
    const intervalMs = Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, hb.intervalMs));
    let g = this.gws.get(hb.gw);
    if (!g) {
      g = { lastSeen: this.now(), intervalMs, seq: 0 };
      this.gws.set(hb.gw, g);
      if (hb.seq === 0) return 'ok';
      g.sync = { buffer: [], inFlight: true, overflow: false };
      return 'resync';
    }
    g.lastSeen = this.now();
    g.intervalMs = intervalMs;
    if (g.sync) {
      if (g.sync.inFlight) return 'ok';
      g.sync.inFlight = true;
      return 'resync';
    }
    if ((hb.seq === undefined || hb.seq === g.seq) && hb.digest === ours(hb.gw)) return 'ok';
    g.sync = { buffer: [], inFlight: true, overflow: false };
    return 'resync';
  }

  /**
   * The snapshot (state after batch `seq`) was applied: returns the buffered batches to apply on
   * top, in order, and whether the sync must start over (a batch went missing meanwhile).
   */
  snapshotApplied(gw: string, seq: number | undefined): { batches: PresenceDeltaBatch[]; again: boolean } {
    const g = this.gws.get(gw);
    const sync = g?.sync;
    if (!g || !sync) return { batches: [], again: false };
    g.sync = undefined;
    if (seq === undefined) return { batches: [], again: false };
    g.seq = seq;
    const batches: PresenceDeltaBatch[] = [];
    for (const b of sync.buffer.sort((a, c) => (a.seq ?? 0) - (c.seq ?? 0))) {
      if ((b.seq ?? 0) <= g.seq) continue;
      if (b.seq !== g.seq + 1) break;
      batches.push(b);
      g.seq++;
    }
    const last = sync.buffer.at(-1)?.seq ?? 0;
    const again = sync.overflow || last > g.seq;
    if (again) g.sync = { buffer: [], inFlight: true, overflow: false };
    return { batches, again };
  }

  /** The snapshot request failed: keep buffering, retry at the next heartbeat. */
  syncFailed(gw: string): void {
    const sync = this.gws.get(gw)?.sync;
    if (sync) sync.inFlight = false;
  }

  /** Removes and returns the gateways not heard from for DEAD_AFTER_INTERVALS intervals. */
  expire(): string[] {
    const now = this.now();
    const dead: string[] = [];
    for (const [gw, g] of this.gws) {
      if (now - g.lastSeen > DEAD_AFTER_INTERVALS * g.intervalMs) dead.push(gw);
    }
    for (const gw of dead) this.gws.delete(gw);
    return dead;
  }

  private buffer(sync: Sync, b: PresenceDeltaBatch): void {
    if (sync.buffer.length >= MAX_BUFFER) {
      sync.buffer = [];
      sync.overflow = true;
    }
    sync.buffer.push(b);
  }
}
