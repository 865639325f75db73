/**
 * A gateway as presence sees it, without sockets: it speaks the presence protocol exactly like
 * services/gateway/src/presence.ts (numbered batches flushed per tick, heartbeats carrying seq and
 * the shared PresenceDigest, snapshots on presence.snapshot.<gw>), for unit tests and the bench.
 * `kill()` is kill -9: no final deltas, heartbeats just stop.
 */
import type { Bus, Subscription } from '@parley/bus';
import {
  type PresenceDelta,
  type PresenceDeltaBatch,
  PresenceDigest,
  type PresenceHeartbeat,
  type PresenceSnapshot,
  type Status,
  Subjects,
  snapshotParts,
  snapshotReplyTo,
} from '@parley/protocol';

interface SimConn {
  user: string;
  status: Status;
  name?: string;
  rooms: Set<string>;
}

export class SimGateway {
  readonly conns = new Map<string, SimConn>();
  private readonly digest = new PresenceDigest();
  private pending: PresenceDelta[] = [];
  private scheduled = false;
  private seq = 0;
  private counter = 0;
  private timer?: NodeJS.Timeout;
  private sub?: Subscription;

  constructor(
    private readonly bus: Bus,
    readonly id: string,
    readonly intervalMs: number,
  ) {}

  start(): this {
    this.sub = this.bus.subscribe(Subjects.presenceSnapshotOf(this.id), (msg) => {
      this.flush();
      const conns = [...this.conns].map(([conn, c]) => ({
        conn,
        user: c.user,
        status: c.status,
        ...(c.name === undefined ? {} : { name: c.name }),
        rooms: [...c.rooms],
      }));
      const snap: PresenceSnapshot = { gw: this.id, seq: this.seq, conns };
      const replyTo = snapshotReplyTo(msg.string());
      if (replyTo === undefined) msg.respond(JSON.stringify(snap));
      else for (const part of snapshotParts(snap)) this.bus.publish(replyTo, JSON.stringify(part));
    });
    this.timer = setInterval(() => this.heartbeat(), this.intervalMs);
    this.heartbeat();
    return this;
  }

  /** Opens a connection of `user` in `rooms`; returns its id. */
  connect(user: string, rooms: string[] = [], status: Status = 'online'): string {
    const conn = `${this.id}-${(++this.counter).toString(36)}`;
    this.conns.set(conn, { user, status, rooms: new Set() });
    this.send({ k: 'connect', conn, user, status });
    for (const room of rooms) this.join(conn, room);
    return conn;
  }

  join(conn: string, room: string): void {
    this.conns.get(conn)?.rooms.add(room);
    this.send({ k: 'join', conn, room });
  }

  leave(conn: string, room: string): void {
    this.conns.get(conn)?.rooms.delete(room);
    this.send({ k: 'leave', conn, room });
  }

  status(conn: string, status: Status): void {
    const c = this.conns.get(conn);
    if (c) c.status = status;
    this.send({ k: 'status', conn, status });
  }

  /** Closes a connection the way the gateway does: a leave per room, then the disconnect. */
  disconnect(conn: string): void {
    for (const room of this.conns.get(conn)?.rooms ?? []) this.send({ k: 'leave', conn, room });
    this.conns.delete(conn);
    this.send({ k: 'disconnect', conn });
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch: PresenceDeltaBatch = { gw: this.id, seq: ++this.seq, deltas: this.pending };
    this.pending = [];
    this.bus.publish(Subjects.presenceDelta, JSON.stringify(batch));
  }

  heartbeat(): void {
    this.flush();
    const hb: PresenceHeartbeat = {
      gw: this.id,
      conns: this.conns.size,
      digest: this.digest.digest(),
      intervalMs: this.intervalMs,
      seq: this.seq,
    };
    this.bus.publish(Subjects.presenceHeartbeat, JSON.stringify(hb));
  }

  /** Drops the pending batch on the floor, as a lossy network would (presence must notice the gap). */
  losePending(): void {
    this.pending = [];
    this.seq++;
  }

  /** kill -9: pending deltas are lost, heartbeats and snapshot replies stop. */
  kill(): void {
    this.pending = [];
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
  }

  private send(d: PresenceDelta): void {
    this.digest.apply(d);
    this.pending.push(d);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
