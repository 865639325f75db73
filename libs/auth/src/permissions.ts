/** Room permissions from token claims. Pure functions; cheap enough for every join and publish. */
import type { RoomId } from '@parley/protocol';
import type { Identity } from './claims.ts';

const STAR = 42; // '*'
const QUESTION = 63; // '?'

/**
 * Glob match over the whole room id: `*` matches any run of characters (including none), `?` exactly
 * one UTF-16 code unit, everything else itself. Linear-time backtracking to the last star only, no
 * regex: patterns come from tokens and must not be able to cost more than O(pattern × room).
 */
export function matchPattern(pattern: string, room: string): boolean {
  if (pattern === '*') return true;
  let p = 0;
  let r = 0;
  let star = -1;
  let resume = 0;
  while (r < room.length) {
    const c = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (c === STAR) {
      star = p++;
      resume = r;
    } else if (c === QUESTION || (c !== -1 && c === room.charCodeAt(r))) {
      p++;
      r++;
    } else if (star >= 0) {
      p = star + 1;
      r = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

function allowed(userId: string, patterns: readonly string[], room: RoomId): boolean {
  // A user-limited room's member list is the whole rule: patterns neither grant nor deny it.
  if (room.members !== undefined) return room.members.includes(userId);
  return patterns.some((pattern) => matchPattern(pattern, room.id));
}

/** May the user join (and read) this room? */
export function canJoin(id: Identity, room: RoomId): boolean {
  return allowed(id.userId, id.rooms, room);
}

/** May the user publish to this room? */
export function canPublish(id: Identity, room: RoomId): boolean {
  return allowed(id.userId, id.pub, room);
}

export function hasScope(id: Identity, scope: 'admin' | 'notify:send'): boolean {
  return id.scopes.has(scope);
}
