/**
 * The presence digest: an order-independent hash of a gateway's presence state, computed the same
 * way by the gateway (from the deltas it sends) and by the presence service (from the state it
 * built). Each connection contributes a term over (conn, user, status, name) and each membership a
 * term over (conn, room); the digest is their sum mod 2^32 plus the two counts, so it can be kept
 * up to date in O(1) per delta on both sides. Equal digests mean equal state with probability
 * about 1 - 2^-32; a mismatch makes presence request that gateway's snapshot.
 */
import { STATUSES, type Status } from './frames.ts';
import type { PresenceDelta, SnapshotConn } from './internal.ts';

/** 32-bit FNV-1a over UTF-16 code units (ids are short; this is not a security hash). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finaliser: spreads every input bit over the word so summed terms do not cancel. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 1..3 for online/away/dnd (0 is left for "offline" in compact tables). */
export const statusCode = (s: Status): number => STATUSES.indexOf(s) + 1;

/** Term of one connection; `nameHash` is fnv1a(name), or 0 without a name. */
export function connTerm(connHash: number, userHash: number, status: number, nameHash: number): number {
  return mix(connHash ^ mix(userHash + Math.imul(status, 0x9e3779b9)) ^ Math.imul(mix(nameHash), 0x27d4eb2f));
}

/** Term of one (connection, room) membership. */
export function memberTerm(connHash: number, roomHash: number): number {
  return mix(Math.imul(connHash, 0x2545f491) ^ mix(roomHash ^ 0x5bd1e995));
}

export function formatDigest(conns: number, memberships: number, sum: number): string {
  return `${conns}.${memberships}.${(sum >>> 0).toString(16)}`;
}

/** What the digest remembers of a connection: hashes of its identity and current values. */
interface ConnTerms {
  conn: number;
  user: number;
  status: number;
  name: number;
}

/**
 * The running digest of a stream of deltas, O(1) per delta. It remembers each connection's terms
 * (not its rooms), so a `disconnect` removes only the connection's own term: the sender must send
 * `leave` for its rooms first, as the gateway does. `rebase` starts over from a full list.
 */
export class PresenceDigest {
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
