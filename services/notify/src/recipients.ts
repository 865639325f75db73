/**
 * Who a target means, as a stream of batches: the caller stores and delivers one batch before the
 * next is read, so memory is one batch whatever the audience (a 10,000-member room or everyone).
 *
 * - `users`: the listed ids (deduplicated by validation).
 * - `room`: a user-limited room's listed members; for an ordinary room, every user the store knows
 *   in it (wrote to it). Presence is deliberately not consulted: a notification is for the room's
 *   people, online or not, and a reader who never wrote leaves no trace in storage.
 * - `all`: every user the store knows (anyone with a conversation).
 */
import { parseRoomId } from '@parley/protocol';
import type { UserDirectory } from '@parley/store';
import type { Target } from './request.ts';

export async function* recipients(
  to: Target,
  directory: UserDirectory,
  batch: number,
): AsyncGenerator<string[]> {
  if ('users' in to) return yield* chunks(to.users, batch);
  if ('room' in to) {
    const parsed = parseRoomId(to.room);
    const members = parsed.ok ? parsed.room.members : undefined;
    if (members) return yield* chunks(members, batch);
    return yield* pages((after) => directory.roomUsers(to.room, after, batch));
  }
  yield* pages((after) => directory.users(after, batch));
}

function* chunks(list: readonly string[], size: number): Generator<string[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

/** Walks a directory listing; only an empty page ends it (see UserDirectory). */
async function* pages(next: (after: string | undefined) => Promise<string[]>): AsyncGenerator<string[]> {
  let after: string | undefined;
  for (;;) {
    const page = await next(after);
    if (page.length === 0) return;
    yield page;
    after = page.at(-1);
  }
}
