/**
 * The gateway side of presence: connection deltas batched per event-loop tick to `presence.delta`,
 * a heartbeat every few seconds (id, connection count, digest) so presence can expire a dead
 * gateway, and a full snapshot on request so a restarted presence service can rebuild its state.
 *
 * Guarantees presence relies on: batches are numbered 1, 2, 3... (`seq`), so a lost batch shows as a
 * gap; pending deltas are flushed before every heartbeat and snapshot reply, so the `seq` and
 * `digest` they carry describe exactly the state after batch `seq`. The digest is kept up to date
 * per delta (O(1)) and re-based on the gateway's own connection list at every snapshot, so a drift
 * between what the gateway has and what it reported heals at the next resynchronisation.
 */
import type { Bus, BusMsg, Subscription } from '@parley/bus';
import {
  type PresenceDelta,
  type PresenceDeltaBatch,
  PresenceDigest,
  type PresenceHeartbeat,
  type PresenceSnapshot,
  type SnapshotConn,
  Subjects,
  snapshotParts,
  snapshotReplyTo,
} from '@parley/protocol';

export interface PresenceSource {
  /** Every local connection as presence should know it. */
  snapshot(): SnapshotConn[];
  count(): number;
}

export class PresenceReporter {
  private pending: PresenceDelta[] = [];
  private scheduled = false;
  private timer?: NodeJS.Timeout;
  private subs: Subscription[] = [];
  /** Number of the last batch published. */
  private seq = 0;
  private readonly state = new PresenceDigest();

  constructor(
    private readonly bus: Bus,
    private readonly gatewayId: string,
    private readonly intervalMs: number,
    private readonly source: PresenceSource,
  ) {}

  start(): void {
    const reply = (msg: BusMsg) => this.answerSnapshot(msg);
    this.subs = [
      this.bus.subscribe(Subjects.presenceSnapshotOf(this.gatewayId), reply),
      this.bus.subscribe(Subjects.presenceSnapshot, reply),
    ];
    this.timer = setInterval(() => this.heartbeat(), this.intervalMs);
    this.timer.unref?.();
    this.heartbeat();
  }

  delta(d: PresenceDelta): void {
    this.pending.push(d);
    this.state.apply(d);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch: PresenceDeltaBatch = { gw: this.gatewayId, seq: ++this.seq, deltas: this.pending };
    this.pending = [];
    this.bus.publish(Subjects.presenceDelta, JSON.stringify(batch));
  }

  /** The state after the last batch; re-bases the digest on it (see the module comment). */
  snapshot(): PresenceSnapshot {
    this.flush();
    const conns = this.source.snapshot();
    this.state.rebase(conns);
    return { gw: this.gatewayId, seq: this.seq, conns };
  }

  /**
   * One view of the state, sent in parts to the requester's `replyTo` subject (a plain request with
   * no replyTo gets a one-part reply, which only fits gateways with a few thousand connections).
   */
  private answerSnapshot(msg: BusMsg): void {
    const snap = this.snapshot();
    const replyTo = snapshotReplyTo(msg.string());
    if (replyTo === undefined) msg.respond(JSON.stringify(snap));
    else for (const part of snapshotParts(snap)) this.bus.publish(replyTo, JSON.stringify(part));
  }

  /** The heartbeat that would be sent now (flushes pending deltas first). */
  heartbeatMessage(): PresenceHeartbeat {
    this.flush();
    return {
      gw: this.gatewayId,
      conns: this.source.count(),
      digest: this.state.digest(),
      intervalMs: this.intervalMs,
      seq: this.seq,
    };
  }

  private heartbeat(): void {
    this.bus.publish(Subjects.presenceHeartbeat, JSON.stringify(this.heartbeatMessage()));
  }

  /** Flushes pending deltas and stops heartbeats (a stopped gateway is expired by presence). */
  stop(): void {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }
}
