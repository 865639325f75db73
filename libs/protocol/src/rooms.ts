/**
 * Room ids. A room id is a base name, optionally followed by `#` and a comma-separated member list:
 * a user-limited room (`dm#alice,bob`) that only the listed users may join, read or publish to.
 *
 * Member lists are canonical: sorted by code unit, without duplicates. A non-canonical id is
 * rejected with `bad_request` naming the canonical form rather than silently rewritten, so a room
 * id is always exactly one string everywhere (subjects, storage, the client's cursor map).
 */

const BASE = /^[A-Za-z0-9_-]{1,128}$/;
/** Member ids: printable, no separators of the id itself (`#`, `,`) and no whitespace. */
const MEMBER = /^[^\s#,\p{Cc}]{1,128}$/u;

export const DEFAULT_MAX_ROOM_MEMBERS = 32;

export interface RoomId {
  readonly id: string;
  readonly base: string;
  /** The member list of a user-limited room, canonical; undefined for an ordinary room. */
  readonly members?: readonly string[];
}

export type RoomParse = { ok: true; room: RoomId } | { ok: false; message: string };

export function parseRoomId(id: unknown, maxMembers = DEFAULT_MAX_ROOM_MEMBERS): RoomParse {
  if (typeof id !== 'string') return { ok: false, message: 'room must be a string' };
  const hash = id.indexOf('#');
  const base = hash < 0 ? id : id.slice(0, hash);
  if (!BASE.test(base))
    return { ok: false, message: `bad room id "${clip(id)}": base must match [A-Za-z0-9_-]{1,128}` };
  if (hash < 0) return { ok: true, room: { id, base } };
  const members = id.slice(hash + 1).split(',');
  if (members.length > maxMembers) {
    return { ok: false, message: `bad room id: at most ${maxMembers} members in a user-limited room` };
  }
  for (const m of members) {
    if (!MEMBER.test(m))
      return { ok: false, message: `bad room id: member "${clip(m)}" is empty or has a forbidden character` };
  }
  const canonical = canonicalRoomId(base, members);
  if (canonical !== id)
    return { ok: false, message: `bad room id: member list must be sorted and unique: "${canonical}"` };
  return { ok: true, room: { id, base, members } };
}

/** Builds the canonical id of a user-limited room from any member order (what SDKs should call). */
export function canonicalRoomId(base: string, members: Iterable<string>): string {
  const sorted = [...new Set(members)].sort();
  return `${base}#${sorted.join(',')}`;
}

/** True when the room is user-limited and the user is not on its list. */
export function excludedFrom(room: RoomId, userId: string): boolean {
  return room.members !== undefined && !room.members.includes(userId);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
