/**
 * The notify service's storage: per-user inboxes (`Inbox`) and idempotency keys for retried
 * requests (`IdempotencyStore`). Drivers: inbox.memory.ts and inbox.mongo.ts.
 */
import type { Notification } from '@parley/protocol';

export interface StoredNotification extends Notification {
  user: string;
  /** Epoch ms after which the notification is gone (never returned, purged). */
  expireAt?: number;
  /** Unique across the inbox: a second notification with the same key is not stored. */
  key?: string;
}

export interface InboxPage {
  /** Newest first. */
  unread: Notification[];
  /** How many more unread there are, counted up to the cap. */
  more: number;
}

export interface Inbox {
  /**
   * Stores every notification whose id (and key, if any) is new; the rest are skipped, not errors.
   * Resolves with how many were new (a retry that rewrites stored rows counts 0).
   */
  insertMany(list: readonly StoredNotification[]): Promise<number>;
  /** The user's newest `limit` unread, unexpired notifications. */
  unread(user: string, limit: number, cap?: number): Promise<InboxPage>;
  /** The user's unexpired notifications among `ids`, read or not (others' ids are ignored), in no order. */
  find(user: string, ids: readonly string[]): Promise<Notification[]>;
  /** Marks the user's notifications read (others' ids are ignored); resolves with how many changed. */
  markRead(user: string, ids: readonly string[]): Promise<number>;
  /**
   * Deletes expired notifications and idempotency keys; resolves with how many. Expired documents
   * are never returned either way; this only reclaims space where the server has no TTL indexes.
   */
  purgeExpired(): Promise<number>;
}

export interface KeyClaim<T> {
  key: string;
  value: T;
}

export interface IdempotencyStore {
  /**
   * Claims `key` for `ttlMs` with the answer `value`. Resolves null when this call won the key (go
   * ahead and do the work), or with the first claimer's value while the key lives (answer that).
   * Exactly one of any number of concurrent claims of a key wins.
   */
  claimKey<T>(key: string, value: T, ttlMs: number): Promise<T | null>;
  /**
   * `claimKey` for many keys in one write: one result per claim, in order. A key claimed twice in
   * the same call is won by its first claim.
   */
  claimMany<T>(claims: readonly KeyClaim<T>[], ttlMs: number): Promise<(T | null)[]>;
  /**
   * Once-markers: inserts every key not present yet, kept for `ttlMs`. Resolves with one flag per
   * key, true where this call inserted it (of concurrent calls marking a key, exactly one gets true).
   * No value is kept or read, so a batch of already-marked keys costs one write; an expired but
   * unpurged mark still counts as present.
   */
  markOnce(keys: readonly string[], ttlMs: number): Promise<boolean[]>;
}

/** More unread are counted up to this many (an inbox badge shows 1000+). */
export const INBOX_MORE_CAP = 1000;

/** The wire form of a stored notification. */
export function toNotification(n: StoredNotification): Notification {
  const out: Notification = { id: n.id, title: n.title, body: n.body, createdAt: n.createdAt, read: n.read };
  if (n.data !== undefined) out.data = n.data;
  return out;
}
