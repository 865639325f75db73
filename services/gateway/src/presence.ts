/**
 * The gateway side of presence: connection deltas batched per event-loop tick to `presence.delta`,
 * a heartbeat every few seconds (id, connection count, digest) so presence can expire a dead
 * gateway, and a full snapshot on request so a restarted presence service can rebuild its state.
 */
import type { Bus, Subscription } from '@parley/bus';
import type { PresenceDelta, PresenceHeartbeat, PresenceSnapshot, SnapshotConn } from '@parley/protocol';
import { Subjects } from '@parley/protocol';

export interface PresenceSource {
  /** Every local connection as presence should know it. */
  snapshot(): SnapshotConn[];
  count(): number;
}

export class PresenceReporter {
  private pending: PresenceDelta[] = [];
  private scheduled = false;
  private timer?: NodeJS.Timeout;
  private sub?: Subscription;
  /** Changes with every delta: presence compares it across heartbeats to notice lost deltas. */
  private version = 0;

  constructor(
    private readonly bus: Bus,
    private readonly gatewayId: string,
    private readonly intervalMs: number,
    private readonly source: PresenceSource,
  ) {}

  start(): void {
    this.sub = this.bus.subscribe(Subjects.presenceSnapshot, (msg) => {
      const snap: PresenceSnapshot = { gw: this.gatewayId, conns: this.source.snapshot() };
      msg.respond(JSON.stringify(snap));
    });
    this.timer = setInterval(() => this.heartbeat(), this.intervalMs);
    this.timer.unref?.();
    this.heartbeat();
  }

  delta(d: PresenceDelta): void {
    this.pending.push(d);
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = { gw: this.gatewayId, deltas: this.pending };
    this.pending = [];
    this.bus.publish(Subjects.presenceDelta, JSON.stringify(batch));
  }

  private heartbeat(): void {
    const hb: PresenceHeartbeat = {
      gw: this.gatewayId,
      conns: this.source.count(),
      digest: `${this.source.count()}:${this.version}`,
      intervalMs: this.intervalMs,
    };
    this.bus.publish(Subjects.presenceHeartbeat, JSON.stringify(hb));
  }

  /** Flushes pending deltas and stops heartbeats (a stopped gateway is expired by presence). */
  stop(): void {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
  }
}
