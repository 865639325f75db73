/** In-memory read markers for embedded mode and unit tests; same guarantees as the Mongo driver. */
import type { MessageQuery } from './messages.ts';
import { countUnread, type ReadStore } from './reads.ts';

export class MemoryReads implements ReadStore {
  /** Keyed by JSON [user, room]: no separator can collide with ids. */
  readonly #marks = new Map<string, number>();

  constructor(private readonly messages: Pick<MessageQuery, 'countAfter'>) {}

  async mark(user: string, room: string, seq: number): Promise<number> {
    const key = JSON.stringify([user, room]);
    const stored = Math.max(this.#marks.get(key) ?? seq, seq);
    this.#marks.set(key, stored);
    return stored;
  }

  async get(user: string, rooms: readonly string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const room of rooms) {
      const seq = this.#marks.get(JSON.stringify([user, room]));
      if (seq !== undefined) out[room] = seq;
    }
    return out;
  }

  unreadCounts(user: string, rooms: readonly string[], cap?: number): Promise<Record<string, number>> {
    return countUnread(this, this.messages, user, rooms, cap);
  }
}
