/**
 * Chat history as the history service sees it: the writer gets a `MessageSink`, queries get a
 * `MessageQuery`, the conversation list a `ConversationQuery`. Drivers: messages.memory.ts
 * (embedded mode, unit tests) and messages.mongo.ts; store.contract.ts is the suite both pass.
 *
 * `prev` is never stored. The durable consumer that feeds history sees a message without its prev
 * (prev is a property of the republished copy), and history holds every message of a room in seq
 * order, so the previous stored message of the room IS the previous message: queries derive prev
 * from their neighbours (and at most one extra lookup for the first message of a result).
 */
import { type ChatMessage, type ConversationItem, type HistoryPage, parseRoomId } from '@parley/protocol';

/** A message as the writer receives it: everything but prev. */
export type StoredMessage = Omit<ChatMessage, 'prev'>;

export interface MessageSink {
  /**
   * Stores a batch: idempotent per (room, seq) — writing a batch again, in whole or in part, leaves
   * exactly one message per (room, seq), the first one written. Also moves every touched user's
   * conversation entry forward (never back). Resolves only when everything is durable; on
   * rejection nothing is promised and the caller retries the same batch.
   */
  write(batch: readonly StoredMessage[]): Promise<void>;
}

export interface MessageQuery {
  /** The newest `limit` messages with seq < before (all when before is undefined), ascending. */
  page(room: string, before: number | undefined, limit: number): Promise<HistoryPage>;
  /** The oldest `limit` messages with seq > after, ascending (deep tier of recovery). */
  after(room: string, after: number, limit: number): Promise<HistoryPage>;
  /** The room's last stored seq, 0 if none. */
  lastSeq(room: string): Promise<number>;
  /** How many messages have seq > after, counting at most `cap` (cheap for a badge). */
  countAfter(room: string, after: number, cap: number): Promise<number>;
}

/** A conversation list entry before the reader's unread count is added. */
export type Conversation = Omit<ConversationItem, 'unread'>;

export interface ConversationQuery {
  /**
   * The user's conversations, most recent first (by lastSeq: stream seqs are ordered across rooms),
   * those with lastSeq < before when given. A conversation is a room the user wrote to, or a
   * user-limited room naming them; its lastMessage is the newest such message that touched the
   * user (every message for a user-limited room, the user's own for an open room).
   */
  conversations(
    user: string,
    before: number | undefined,
    limit: number,
  ): Promise<{ items: Conversation[]; more: boolean }>;
}

/**
 * The users the store knows, for notification fan-out. Pages are ascending by user id and hold ids
 * greater than `after`; a page may be shorter than `limit` (duplicates collapsed), and only an empty
 * page means the end, so a caller holds one page at a time whatever the number of users.
 */
export interface UserDirectory {
  /** Users with a conversation in the room: they wrote to it, or its user-limited id names them. */
  roomUsers(room: string, after: string | undefined, limit: number): Promise<string[]>;
  /** Every user with at least one conversation. */
  users(after: string | undefined, limit: number): Promise<string[]>;
}

/** Users whose conversation list a message moves: its sender and a user-limited room's members. */
export function touchedUsers(m: StoredMessage): string[] {
  const parsed = parseRoomId(m.room);
  const members = parsed.ok ? (parsed.room.members ?? []) : [];
  return members.includes(m.from) ? [...members] : [...members, m.from];
}

/** The members of a user-limited room (stored with each message for conversation lists). */
export function roomMembers(room: string): string[] | undefined {
  const parsed = parseRoomId(room);
  return parsed.ok && parsed.room.members ? [...parsed.room.members] : undefined;
}

/** Per (user, room), the newest message of the batch: one conversation update each. */
export function conversationUpdates(batch: readonly StoredMessage[]): { user: string; msg: StoredMessage }[] {
  const newest = new Map<string, { user: string; msg: StoredMessage }>();
  for (const msg of batch) {
    for (const user of touchedUsers(msg)) {
      const key = JSON.stringify([user, msg.room]);
      const cur = newest.get(key);
      if (!cur || cur.msg.seq < msg.seq) newest.set(key, { user, msg });
    }
  }
  return [...newest.values()];
}

/** Ascending messages with prev chained; `firstPrev` is the seq before the first one (0 if none). */
export function chainPrev(ascending: readonly StoredMessage[], firstPrev: number): ChatMessage[] {
  let prev = firstPrev;
  return ascending.map((m) => {
    const out: ChatMessage = { ...m, prev };
    prev = m.seq;
    return out;
  });
}

/** Page sizes below 1 would mean "no limit" to Mongo; a store never returns unbounded results. */
export function clampLimit(limit: number): number {
  return Math.max(1, Math.floor(limit));
}

/** A deep copy holding exactly the StoredMessage fields (callers may pass more, such as prev). */
export function copyMessage(m: StoredMessage): StoredMessage {
  const { room, seq, msgId, from, name, body, ts, clientMsgId } = m;
  const out: StoredMessage = { room, seq, msgId, from, body: structuredClone(body), ts, clientMsgId };
  if (name !== undefined) out.name = name;
  return out;
}
