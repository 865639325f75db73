/**
 * Presence semantics over the compact state (state.ts): applies gateway deltas and says which
 * events each one causes. Pure: no I/O, no clock; the caller publishes the events (events.ts).
 *
 * Rules (ARCHITECTURE §3, issue 5):
 * - A user is in a room while any of their connections is: presence.join / presence.leave go to a
 *   room only when that changes (second tab: nothing; last tab: leave).
 * - A user's status is the strongest of their connections' statuses: dnd > online > away. dnd is a
 *   deliberate choice, so any device in dnd wins (showing someone as available who asked not to be
 *   disturbed is the costly mistake); away is automatic idleness, so any active device means online.
 * - presence.user (online/away/dnd/offline) goes to the user's watchers when that status changes;
 *   presence.update goes to each of the user's rooms on a status change of an already online user.
 * - A user's name is the one set by the last `name` delta (profile); a connect only fills it in
 *   when unknown, so a token's stale name does not flip a profile name back and forth. A name change
 *   goes to the user's rooms and watchers as presence.update.
 * Connections are keyed per gateway; `connect` of a known connection replaces it (counted as an
 * anomaly), deltas for unknown connections or rooms are anomalies and change nothing.
 */
import {
  connTerm,
  fnv1a,
  formatDigest,
  memberTerm,
  type PresenceDelta,
  type PresenceResults,
  type ServerFrameOf,
  type SnapshotConn,
  STATUSES,
  type Status,
  statusCode,
} from '@parley/protocol';
import { NONE, PresenceState } from './state.ts';

type EventFrame = ServerFrameOf<'presence.join' | 'presence.leave' | 'presence.update' | 'presence.user'>;

export interface PresenceEvent {
  /** Set for room events (to chat.eph.<room>); unset for events to the user's watchers. */
  room?: string;
  /** Distinct users in the room after the change (large rooms are coalesced on it). */
  roomUsers?: number;
  user: string;
  frame: EventFrame;
}

/** Aggregation rank by status code (0 offline, 1 online, 2 away, 3 dnd): dnd > online > away. */
const RANK: readonly number[] = [0, 2, 1, 3];
const statusOf = (code: number): Status | 'offline' => (code === 0 ? 'offline' : STATUSES[code - 1]!);

interface Gateway {
  readonly id: string;
  /** Connection key (see connKey) -> connection slot. */
  readonly conns: Map<number | string, number>;
  sum: number;
  memberships: number;
}

/**
 * Gateway connection ids look like `<gw>-<base36 counter>`: those are keyed by the counter (a small
 * integer, no string kept); any other id is kept as it is.
 */
function connKey(gw: string, conn: string): number | string {
  if (conn.length > gw.length + 1 && conn.length <= gw.length + 6 && conn.startsWith(gw)) {
    const tail = conn.slice(gw.length + 1);
    if (conn.charCodeAt(gw.length) === 45 && /^[1-9a-z][0-9a-z]*$/.test(tail))
      return Number.parseInt(tail, 36);
  }
  return conn;
}
const connIdOf = (gw: string, key: number | string) =>
  typeof key === 'number' ? `${gw}-${key.toString(36)}` : key;

export class PresenceTracker {
  private readonly s = new PresenceState();
  private readonly gateways = new Map<string, Gateway>();

  /** Applies one delta of gateway `gw`; returns false for an anomaly (see the module comment). */
  apply(gw: string, d: PresenceDelta, out: PresenceEvent[]): boolean {
    const g = this.gateway(gw);
    const key = connKey(gw, d.conn);
    if (d.k === 'connect') {
      const known = g.conns.has(key);
      if (known) this.disconnect(g, key, out);
      this.connect(g, key, d, out);
      return !known;
    }
    const slot = g.conns.get(key);
    if (slot === undefined) return false;
    switch (d.k) {
      case 'disconnect':
        this.disconnect(g, key, out);
        return true;
      case 'join':
        return this.join(g, slot, d.room, out);
      case 'leave':
        return this.leave(g, slot, d.room, out);
      case 'status':
        return this.setStatus(g, slot, statusCode(d.status), out);
      case 'name':
        return this.setName(g, slot, d.name, out);
    }
  }

  /** Expires every connection of a gateway (dead or gone), with the events that causes. */
  dropGateway(gw: string, out: PresenceEvent[]): void {
    const g = this.gateways.get(gw);
    if (!g) return;
    for (const key of [...g.conns.keys()]) this.disconnect(g, key, out);
    this.gateways.delete(gw);
  }

  /** The deltas that turn what is tracked for `gw` into `conns` (reconcile by diff, no storms). */
  diff(gw: string, conns: readonly SnapshotConn[]): PresenceDelta[] {
    const g = this.gateways.get(gw);
    const out: PresenceDelta[] = [];
    const seen = new Set<number | string>();
    for (const c of conns) {
      const key = connKey(gw, c.conn);
      seen.add(key);
      const slot = g?.conns.get(key);
      if (slot === undefined || this.s.users.str[this.s.c.c.user[slot]!] !== c.user) {
        if (slot !== undefined) out.push({ k: 'disconnect', conn: c.conn });
        out.push({ k: 'connect', conn: c.conn, user: c.user, status: c.status, ...nameOf(c) });
        for (const room of c.rooms) out.push({ k: 'join', conn: c.conn, room });
        continue;
      }
      if (this.s.c.c.status[slot] !== statusCode(c.status))
        out.push({ k: 'status', conn: c.conn, status: c.status });
      if (c.name !== undefined && this.s.c.c.name[slot] !== (fnv1a(c.name) | 0))
        out.push({ k: 'name', conn: c.conn, name: c.name });
      const want = new Set(c.rooms);
      for (const r of this.s.roomsOfConn(slot)) {
        const room = this.s.rooms.str[r]!;
        if (!want.delete(room)) out.push({ k: 'leave', conn: c.conn, room });
      }
      for (const room of want) out.push({ k: 'join', conn: c.conn, room });
    }
    for (const key of g?.conns.keys() ?? [])
      if (!seen.has(key)) out.push({ k: 'disconnect', conn: connIdOf(gw, key) });
    return out;
  }

  /** The digest of what is tracked for `gw` (digest.ts; equal to the gateway's when in sync). */
  digest(gw: string): string {
    const g = this.gateways.get(gw);
    return g ? formatDigest(g.conns.size, g.memberships, g.sum) : formatDigest(0, 0, 0);
  }

  hasGateway(gw: string): boolean {
    return this.gateways.has(gw);
  }

  get stats(): { connections: number; onlineUsers: number; rooms: number } {
    return { connections: this.s.c.live, onlineUsers: this.s.users.size, rooms: this.s.rooms.size };
  }

  // ---- queries ----

  room(room: string, maxUsers: number): PresenceResults['room'] {
    const r = this.s.rooms.get(room);
    if (r === undefined) return { users: [], count: 0 };
    const users = this.s.usersOfRoom(r, maxUsers).map((u) => {
      const name = this.s.userName[u];
      const status = statusOf(this.s.u.c.status[u]!) as Status;
      return name === undefined
        ? { userId: this.s.users.str[u]!, status }
        : { userId: this.s.users.str[u]!, status, name };
    });
    return { users, count: this.s.r.c.users[r]! };
  }

  user(user: string): PresenceResults['user'] {
    const u = this.s.users.get(user);
    if (u === undefined) return { userId: user, status: 'offline', connections: 0, rooms: [] };
    const rooms = [...this.s.roomsOfUser(u)].map((r) => this.s.rooms.str[r]!);
    return {
      userId: user,
      status: statusOf(this.s.u.c.status[u]!),
      connections: this.s.u.c.conns[u]!,
      rooms,
    };
  }

  status(user: string): Status | 'offline' {
    const u = this.s.users.get(user);
    return u === undefined ? 'offline' : statusOf(this.s.u.c.status[u]!);
  }

  // ---- deltas ----

  private gateway(id: string): Gateway {
    let g = this.gateways.get(id);
    if (!g) {
      g = { id, conns: new Map(), sum: 0, memberships: 0 };
      this.gateways.set(id, g);
    }
    return g;
  }

  private connect(
    g: Gateway,
    key: number | string,
    d: PresenceDelta & { k: 'connect' },
    out: PresenceEvent[],
  ): void {
    const connHash = fnv1a(d.conn) | 0;
    const nameHash = d.name === undefined ? 0 : fnv1a(d.name) | 0;
    const slot = this.s.addConn(d.user, () => fnv1a(d.user) | 0, statusCode(d.status), connHash, nameHash);
    g.conns.set(key, slot);
    this.addTerm(g, this.connTermOf(slot), 1);
    const u = this.s.c.c.user[slot]!;
    if (d.name !== undefined && this.s.userName[u] === undefined) this.s.userName[u] = d.name;
    const before = this.s.u.c.status[u]!;
    this.reaggregate(u, before, out);
  }

  private disconnect(g: Gateway, key: number | string, out: PresenceEvent[]): void {
    const slot = g.conns.get(key)!;
    for (let m = this.s.c.c.mem[slot]!; m !== NONE; m = this.s.c.c.mem[slot]!)
      this.removeMember(g, slot, m, out);
    this.addTerm(g, this.connTermOf(slot), -1);
    g.conns.delete(key);
    const u = this.s.c.c.user[slot]!;
    const user = this.s.users.str[u]!;
    const before = this.s.u.c.status[u]!;
    this.s.removeConn(slot);
    if (this.s.users.get(user) === undefined) out.push(userEvent(user, 'offline'));
    else this.reaggregate(u, before, out);
  }

  private join(g: Gateway, slot: number, room: string, out: PresenceEvent[]): boolean {
    const r0 = this.s.rooms.get(room);
    if (r0 !== undefined && this.s.findMember(slot, r0) !== NONE) return false;
    const u = this.s.c.c.user[slot]!;
    const already = r0 !== undefined && this.s.userInRoom(u, r0);
    const r = this.s.addMember(slot, room, () => fnv1a(room) | 0);
    g.memberships++;
    this.addTerm(g, memberTerm(this.s.c.c.hash[slot]!, this.s.r.c.hash[r]!), 1);
    if (already) return true;
    const users = ++this.s.r.c.users[r]!;
    out.push({
      room,
      roomUsers: users,
      user: this.s.users.str[u]!,
      frame: { type: 'presence.join', room, userId: this.s.users.str[u]! },
    });
    return true;
  }

  private leave(g: Gateway, slot: number, room: string, out: PresenceEvent[]): boolean {
    const r = this.s.rooms.get(room);
    const m = r === undefined ? NONE : this.s.findMember(slot, r);
    if (m === NONE) return false;
    this.removeMember(g, slot, m, out);
    return true;
  }

  private removeMember(g: Gateway, slot: number, m: number, out: PresenceEvent[]): void {
    const r = this.s.m.c.room[m]!;
    this.s.removeMember(slot, m);
    g.memberships--;
    this.addTerm(g, memberTerm(this.s.c.c.hash[slot]!, this.s.r.c.hash[r]!), -1);
    const u = this.s.c.c.user[slot]!;
    if (!this.s.userInRoom(u, r)) {
      const room = this.s.rooms.str[r]!;
      const userId = this.s.users.str[u]!;
      const users = --this.s.r.c.users[r]!;
      out.push({ room, roomUsers: users, user: userId, frame: { type: 'presence.leave', room, userId } });
    }
    this.s.releaseRoomIfEmpty(r);
  }

  private setStatus(g: Gateway, slot: number, code: number, out: PresenceEvent[]): boolean {
    if (this.s.c.c.status[slot] === code) return true;
    this.addTerm(g, this.connTermOf(slot), -1);
    this.s.c.c.status[slot] = code;
    this.addTerm(g, this.connTermOf(slot), 1);
    const u = this.s.c.c.user[slot]!;
    this.reaggregate(u, this.s.u.c.status[u]!, out);
    return true;
  }

  private setName(g: Gateway, slot: number, name: string, out: PresenceEvent[]): boolean {
    this.addTerm(g, this.connTermOf(slot), -1);
    this.s.c.c.name[slot] = fnv1a(name) | 0;
    this.addTerm(g, this.connTermOf(slot), 1);
    const u = this.s.c.c.user[slot]!;
    if (this.s.userName[u] === name) return true;
    this.s.userName[u] = name;
    const userId = this.s.users.str[u]!;
    out.push({ user: userId, frame: { type: 'presence.update', userId, name } });
    this.toRooms(u, (room) => ({ type: 'presence.update', room, userId, name }), out);
    return true;
  }

  /** Recomputes the user's status from their connections and reports a change from `before`. */
  private reaggregate(u: number, before: number, out: PresenceEvent[]): void {
    let best = 0;
    for (const s of this.s.connsOf(u)) {
      const code = this.s.c.c.status[s]!;
      if (RANK[code]! > RANK[best]!) best = code;
    }
    this.s.u.c.status[u] = best;
    if (best === before) return;
    const userId = this.s.users.str[u]!;
    const status = statusOf(best) as Status;
    out.push(userEvent(userId, status));
    if (before !== 0) this.toRooms(u, (room) => ({ type: 'presence.update', room, userId, status }), out);
  }

  private toRooms(u: number, frame: (room: string) => EventFrame, out: PresenceEvent[]): void {
    const user = this.s.users.str[u]!;
    for (const r of this.s.roomsOfUser(u)) {
      const room = this.s.rooms.str[r]!;
      out.push({ room, roomUsers: this.s.r.c.users[r]!, user, frame: frame(room) });
    }
  }

  private connTermOf(slot: number): number {
    const c = this.s.c.c;
    return connTerm(
      c.hash[slot]! >>> 0,
      this.s.u.c.hash[c.user[slot]!]! >>> 0,
      c.status[slot]!,
      c.name[slot]! >>> 0,
    );
  }

  private addTerm(g: Gateway, term: number, sign: 1 | -1): void {
    g.sum = (g.sum + sign * term) >>> 0;
  }
}

const nameOf = (c: { name?: string }) => (c.name === undefined ? {} : { name: c.name });
const userEvent = (userId: string, status: Status | 'offline'): PresenceEvent => ({
  user: userId,
  frame: { type: 'presence.user', userId, status },
});
