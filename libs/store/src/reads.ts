/**
 * Per-user read markers: the highest seq a user has read in a room. Drivers: reads.memory.ts and
 * reads.mongo.ts. Unread counts combine the markers with history (`countUnread`).
 */
import { UNREAD_CAP } from '@parley/protocol';
import { mapLimit } from './concurrency.ts';
import type { MessageQuery } from './messages.ts';

export interface ReadStore {
  /**
   * Moves the user's marker in the room to `seq` unless it is already further; resolves with the
   * stored marker. Monotonic under any interleaving: an older seq never overwrites a newer one.
   */
  mark(user: string, room: string, seq: number): Promise<number>;
  /** The markers of the given rooms that exist (one query, whatever the number of rooms). */
  get(user: string, rooms: readonly string[]): Promise<Record<string, number>>;
  /** Messages after the user's marker per room (0 when no marker: everything), capped at `cap`. */
  unreadCounts(user: string, rooms: readonly string[], cap?: number): Promise<Record<string, number>>;
}

/** Capped counts for many rooms run this many at a time: fast without flooding the pool. */
const COUNT_CONCURRENCY = 16;

/** The unreadCounts of every driver: one marker query, then one capped count per room. */
export async function countUnread(
  reads: Pick<ReadStore, 'get'>,
  messages: Pick<MessageQuery, 'countAfter'>,
  user: string,
  rooms: readonly string[],
  cap = UNREAD_CAP,
): Promise<Record<string, number>> {
  const unique = [...new Set(rooms)];
  const markers = await reads.get(user, unique);
  const counts = await mapLimit(unique, COUNT_CONCURRENCY, (room) =>
    messages.countAfter(room, markers[room] ?? 0, cap),
  );
  return Object.fromEntries(unique.map((room, i) => [room, counts[i] ?? 0]));
}
