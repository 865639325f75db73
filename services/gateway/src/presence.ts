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
import type { Bus, Subscription } from '@parley/bus';
import {
  connTerm,
  fnv1a,
  formatDigest,
  memberTerm,
  type PresenceDelta,
  type PresenceDeltaBatch,
  type PresenceHeartbeat,
  type PresenceSnapshot,
  type SnapshotConn,
  Subjects,
  statusCode,
} from '@parley/protocol';

export interface PresenceSource {
  /** Every local connection as presence should know it. */
  snapshot(): SnapshotConn[];
  count(): number;
}

/** What the digest needs to remember of a connection: its hashed identity and current terms. */
interface ConnTerms {
  conn: number;
  user: number;
  status: number;
  name: number;
}

/** The running digest of everything reported so far. */
class DigestState {
  private readonly conns = new Map<string, ConnTerms>();
  private sum = 0;
  private memberships = 0;

  apply(d: PresenceDelta): void {
    if (d.k === 'connect') {
      if (this.conns.has(d.conn)) this.drop(d.conn);
      const t = { conn: fnv1a(d.conn), user: fnv1a(d.user), status: statusCode(d.status), name: 0 };
      if (d.name !== undefined) t.name = fnv1a(d.name);
      this.conns.set(d.conn, t);
      this.add(t, 1);
      return;
    }
    const t = this.conns.get(d.conn);
    if (!t) return;
    if (d.k === 'disconnect') this.drop(d.conn);
    else if (d.k === 'join' || d.k === 'leave') {
      this.sum = (this.sum + (d.k === 'join' ? 1 : -1) * memberTerm(t.conn, fnv1a(d.room))) >>> 0;
      this.memberships += d.k === 'join' ? 1 : -1;
    } else {
      this.add(t, -1);
      if (d.k === 'status') t.status = statusCode(d.status);
      else t.name = fnv1a(d.name);
      this.add(t, 1);
    }
  }

  /** Starts over from the gateway's real connection list. */
  rebase(conns: readonly SnapshotConn[]): void {
    this.conns.clear();
    this.sum = 0;
    this.memberships = 0;
    for (const c of conns) {
      this.apply({ k: 'connect', conn: c.conn, user: c.user, status: c.status, ...nameOf(c) });
      for (const room of c.rooms) this.apply({ k: 'join', conn: c.conn, room });
    }
  }

  digest(): string {
    return formatDigest(this.conns.size, this.memberships, this.sum);
  }

  /** Removes a connection's own term; its memberships left with their leave deltas. */
  private drop(conn: string): void {
    const t = this.conns.get(conn);
    if (!t) return;
    this.add(t, -1);
    this.conns.delete(conn);
  }

  private add(t: ConnTerms, sign: 1 | -1): void {
    this.sum = (this.sum + sign * connTerm(t.conn, t.user, t.status, t.name)) >>> 0;
  }
}

const nameOf = (c: { name?: string }) => (c.name === undefined ? {} : { name: c.name });

export class PresenceReporter {
  private pending: PresenceDelta[] = [];
  private scheduled = false;
  private timer?: NodeJS.Timeout;
  private subs: Subscription[] = [];
  /** Number of the last batch published. */
  private seq = 0;
  private readonly state = new DigestState();

  constructor(
    private readonly bus: Bus,
    private readonly gatewayId: string,
    private readonly intervalMs: number,
    private readonly source: PresenceSource,
  ) {}

  start(): void {
    const reply = (msg: { respond(data: string): boolean }) => msg.respond(JSON.stringify(this.snapshot()));
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
