/**
 * Compact storage for presence state: users, rooms, connections and (connection, room)
 * memberships as parallel typed-array columns indexed by small integers, with strings interned
 * once. No events and no policy here (tracker.ts does that); this file only keeps the links right.
 *
 * Why: 100k connections must cost under 200 bytes each. A JS object per connection plus a Set of
 * rooms costs ~300 bytes before the id strings; a slot in typed arrays costs ~30 bytes, and each
 * membership 20. Links: a user's connections form a doubly linked list (uHead/cNext/cPrev), a
 * connection's memberships a singly linked list (cMem/mNextC, short: at most the rooms-per-connection
 * limit), a room's memberships a doubly linked list (rHead/mNextR/mPrevR) so a leave is O(1) there.
 */

type Col = Int32Array | Uint8Array;
const NONE = -1;

/** Slots over parallel columns: freed slots are reused first, columns double when full. */
class Pool<C extends Record<string, Col>> {
  private top = 0;
  private readonly free: number[] = [];
  private cap: number;

  constructor(public c: C) {
    this.cap = Object.values(c)[0]!.length;
  }

  alloc(): number {
    const s = this.free.pop() ?? this.top++;
    if (s >= this.cap) this.grow();
    return s;
  }

  release(s: number): void {
    this.free.push(s);
  }

  get live(): number {
    return this.top - this.free.length;
  }

  private grow(): void {
    this.cap *= 2;
    const next = {} as Record<string, Col>;
    for (const [k, col] of Object.entries(this.c)) {
      const bigger = new (col.constructor as new (n: number) => Col)(this.cap);
      bigger.set(col);
      next[k] = bigger;
    }
    this.c = next as C;
  }
}

/** Strings <-> ids, the ids being slots of a Pool; the caller decides when an id is unused. */
class Interner {
  private readonly ids = new Map<string, number>();
  readonly str: string[] = [];

  get(s: string): number | undefined {
    return this.ids.get(s);
  }

  /** Returns [id, created]; a new id comes from `alloc`. */
  intern(s: string, alloc: () => number): [number, boolean] {
    const id = this.ids.get(s);
    if (id !== undefined) return [id, false];
    const n = alloc();
    this.str[n] = s;
    this.ids.set(s, n);
    return [n, true];
  }

  release(id: number): void {
    const s = this.str[id];
    if (s === undefined) return;
    this.ids.delete(s);
    this.str[id] = '';
  }

  get size(): number {
    return this.ids.size;
  }
}

const INITIAL = 1024;

export class PresenceState {
  readonly users = new Interner();
  readonly rooms = new Interner();
  /** Per user: first connection, connection count, aggregated status code (0 = offline), id hash. */
  readonly u = new Pool({
    head: new Int32Array(INITIAL),
    conns: new Int32Array(INITIAL),
    status: new Uint8Array(INITIAL),
    hash: new Int32Array(INITIAL),
  });
  /** Display name per user (the last one a gateway reported), sparse. */
  readonly userName: (string | undefined)[] = [];
  /** Per connection: user, status code, id hash, name hash, user-list links, first membership. */
  readonly c = new Pool({
    user: new Int32Array(INITIAL),
    status: new Uint8Array(INITIAL),
    hash: new Int32Array(INITIAL),
    name: new Int32Array(INITIAL),
    next: new Int32Array(INITIAL),
    prev: new Int32Array(INITIAL),
    mem: new Int32Array(INITIAL),
  });
  /** Per membership: connection, room, next of the connection, next/prev of the room. */
  readonly m = new Pool({
    conn: new Int32Array(INITIAL),
    room: new Int32Array(INITIAL),
    nextC: new Int32Array(INITIAL),
    nextR: new Int32Array(INITIAL),
    prevR: new Int32Array(INITIAL),
  });
  /** Per room: first membership, distinct users, id hash. */
  readonly r = new Pool({
    head: new Int32Array(INITIAL),
    users: new Int32Array(INITIAL),
    hash: new Int32Array(INITIAL),
  });

  /** Adds a connection of `user` (interned on first use); returns its slot. */
  addConn(user: string, userHash: () => number, status: number, connHash: number, nameHash: number): number {
    const [u, created] = this.users.intern(user, () => this.u.alloc());
    if (created) {
      this.u.c.head[u] = NONE;
      this.u.c.conns[u] = 0;
      this.u.c.status[u] = 0;
      this.u.c.hash[u] = userHash();
    }
    const s = this.c.alloc();
    const c = this.c.c;
    c.user[s] = u;
    c.status[s] = status;
    c.hash[s] = connHash;
    c.name[s] = nameHash;
    c.mem[s] = NONE;
    c.prev[s] = NONE;
    c.next[s] = this.u.c.head[u]!;
    if (c.next[s]! !== NONE) c.prev[c.next[s]!] = s;
    this.u.c.head[u] = s;
    this.u.c.conns[u]!++;
    return s;
  }

  /** Unlinks a connection whose memberships are already removed; frees its user when it was the last. */
  removeConn(s: number): void {
    const c = this.c.c;
    const u = c.user[s]!;
    const next = c.next[s]!;
    const prev = c.prev[s]!;
    if (prev === NONE) this.u.c.head[u] = next;
    else c.next[prev] = next;
    if (next !== NONE) c.prev[next] = prev;
    this.c.release(s);
    if (--this.u.c.conns[u]! > 0) return;
    this.users.release(u);
    this.userName[u] = undefined;
    this.u.release(u);
  }

  /** Adds a membership at the head of the connection's and the room's lists; returns the room id. */
  addMember(s: number, room: string, roomHash: () => number): number {
    const [r, created] = this.rooms.intern(room, () => this.r.alloc());
    if (created) {
      this.r.c.head[r] = NONE;
      this.r.c.users[r] = 0;
      this.r.c.hash[r] = roomHash();
    }
    const m = this.m.alloc();
    const mc = this.m.c;
    mc.conn[m] = s;
    mc.room[m] = r;
    mc.nextC[m] = this.c.c.mem[s]!;
    this.c.c.mem[s] = m;
    mc.prevR[m] = NONE;
    mc.nextR[m] = this.r.c.head[r]!;
    if (mc.nextR[m]! !== NONE) mc.prevR[mc.nextR[m]!] = m;
    this.r.c.head[r] = m;
    return r;
  }

  /** The membership of connection `s` in room `r`, or NONE. */
  findMember(s: number, r: number): number {
    for (let m = this.c.c.mem[s]!; m !== NONE; m = this.m.c.nextC[m]!) if (this.m.c.room[m] === r) return m;
    return NONE;
  }

  /**
   * Removes membership `m` of connection `s` from both lists. The room is not freed here: the
   * caller still reads its counters, then calls releaseRoomIfEmpty.
   */
  removeMember(s: number, m: number): void {
    const mc = this.m.c;
    if (this.c.c.mem[s] === m) this.c.c.mem[s] = mc.nextC[m]!;
    else {
      let p = this.c.c.mem[s]!;
      while (mc.nextC[p]! !== m) p = mc.nextC[p]!;
      mc.nextC[p] = mc.nextC[m]!;
    }
    const r = mc.room[m]!;
    const next = mc.nextR[m]!;
    const prev = mc.prevR[m]!;
    if (prev === NONE) this.r.c.head[r] = next;
    else mc.nextR[prev] = next;
    if (next !== NONE) mc.prevR[next] = prev;
    this.m.release(m);
  }

  releaseRoomIfEmpty(r: number): void {
    if (this.r.c.head[r] !== NONE) return;
    this.rooms.release(r);
    this.r.release(r);
  }

  /** True when any connection of user `u` is in room `r`. */
  userInRoom(u: number, r: number): boolean {
    for (let s = this.u.c.head[u]!; s !== NONE; s = this.c.c.next[s]!)
      if (this.findMember(s, r) !== NONE) return true;
    return false;
  }

  /** Connection slots of user `u`. */
  *connsOf(u: number): Generator<number> {
    for (let s = this.u.c.head[u]!; s !== NONE; s = this.c.c.next[s]!) yield s;
  }

  /** Room ids of connection `s`. */
  *roomsOfConn(s: number): Generator<number> {
    for (let m = this.c.c.mem[s]!; m !== NONE; m = this.m.c.nextC[m]!) yield this.m.c.room[m]!;
  }

  /** Distinct room ids of user `u`. */
  roomsOfUser(u: number): Set<number> {
    const out = new Set<number>();
    for (const s of this.connsOf(u)) for (const r of this.roomsOfConn(s)) out.add(r);
    return out;
  }

  /** Distinct user ids in room `r`, at most `max`. */
  usersOfRoom(r: number, max: number): number[] {
    const seen = new Set<number>();
    for (let m = this.r.c.head[r]!; m !== NONE && seen.size < max; m = this.m.c.nextR[m]!) {
      seen.add(this.c.c.user[this.m.c.conn[m]!]!);
    }
    return [...seen];
  }
}

export { NONE };
