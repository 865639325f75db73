/**
 * In-memory history for embedded mode and unit tests. Same guarantees as the Mongo driver; nothing
 * survives the process. Stored values are copies, so callers can't mutate history through aliases.
 */
import type { HistoryPage } from '@parley/protocol';
import {
  type Conversation,
  type ConversationQuery,
  chainPrev,
  clampLimit,
  conversationUpdates,
  copyMessage,
  type MessageQuery,
  type MessageSink,
  type StoredMessage,
  type UserDirectory,
} from './messages.ts';

export class MemoryMessages implements MessageSink, MessageQuery, ConversationQuery, UserDirectory {
  /** Per room, ascending by seq. */
  readonly #rooms = new Map<string, StoredMessage[]>();
  /** Per user, per room: the newest message that touched the user there. */
  readonly #convs = new Map<string, Map<string, StoredMessage>>();

  async write(batch: readonly StoredMessage[]): Promise<void> {
    for (const m of batch) this.#insert(copyMessage(m));
    for (const { user, msg } of conversationUpdates(batch)) {
      const rooms = this.#convs.get(user) ?? new Map<string, StoredMessage>();
      this.#convs.set(user, rooms);
      const cur = rooms.get(msg.room);
      if (!cur || cur.seq < msg.seq) rooms.set(msg.room, copyMessage(msg));
    }
  }

  async page(room: string, before: number | undefined, limit: number): Promise<HistoryPage> {
    const list = this.#rooms.get(room) ?? [];
    const end = before === undefined ? list.length : this.#lowerBound(list, before);
    const start = Math.max(0, end - clampLimit(limit));
    return { messages: chainPrev(copy(list.slice(start, end)), list[start - 1]?.seq ?? 0), more: start > 0 };
  }

  async after(room: string, after: number, limit: number): Promise<HistoryPage> {
    const list = this.#rooms.get(room) ?? [];
    const start = this.#lowerBound(list, after + 1);
    const end = Math.min(list.length, start + clampLimit(limit));
    return {
      messages: chainPrev(copy(list.slice(start, end)), list[start - 1]?.seq ?? 0),
      more: end < list.length,
    };
  }

  async lastSeq(room: string): Promise<number> {
    return this.#rooms.get(room)?.at(-1)?.seq ?? 0;
  }

  async countAfter(room: string, after: number, cap: number): Promise<number> {
    const list = this.#rooms.get(room) ?? [];
    return Math.min(cap, list.length - this.#lowerBound(list, after + 1));
  }

  async conversations(user: string, before: number | undefined, limit: number) {
    const all = [...(this.#convs.get(user)?.values() ?? [])]
      .filter((m) => before === undefined || m.seq < before)
      .sort((a, b) => b.seq - a.seq);
    const n = clampLimit(limit);
    const items: Conversation[] = all.slice(0, n).map((m) => {
      const list = this.#rooms.get(m.room) ?? [];
      const prev = list[this.#lowerBound(list, m.seq) - 1]?.seq ?? 0;
      return { room: m.room, lastSeq: m.seq, lastMessage: { ...copyMessage(m), prev } };
    });
    return { items, more: all.length > n };
  }

  async roomUsers(room: string, after: string | undefined, limit: number): Promise<string[]> {
    const users = [...this.#convs].filter(([, rooms]) => rooms.has(room)).map(([user]) => user);
    return pageOf(users, after, limit);
  }

  async users(after: string | undefined, limit: number): Promise<string[]> {
    return pageOf([...this.#convs.keys()], after, limit);
  }

  #insert(m: StoredMessage): void {
    const list = this.#rooms.get(m.room) ?? [];
    this.#rooms.set(m.room, list);
    const i = this.#lowerBound(list, m.seq);
    if (list[i]?.seq !== m.seq) list.splice(i, 0, m);
  }

  /** Index of the first message with seq >= target. */
  #lowerBound(list: readonly StoredMessage[], target: number): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid]?.seq ?? 0) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function pageOf(users: string[], after: string | undefined, limit: number): string[] {
  return users
    .filter((u) => after === undefined || u > after)
    .sort()
    .slice(0, clampLimit(limit));
}

function copy(list: readonly StoredMessage[]): StoredMessage[] {
  return list.map(copyMessage);
}
