/**
 * The presence digest: an order-independent hash of a gateway's presence state, computed the same
 * way by the gateway (from the deltas it sends) and by the presence service (from the state it
 * built). Each connection contributes a term over (conn, user, status, name) and each membership a
 * term over (conn, room); the digest is their sum mod 2^32 plus the two counts, so it can be kept
 * up to date in O(1) per delta on both sides. Equal digests mean equal state with probability
 * about 1 - 2^-32; a mismatch makes presence request that gateway's snapshot.
 */
import { STATUSES, type Status } from './frames.ts';

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
