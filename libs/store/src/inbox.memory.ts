/** In-memory inbox and idempotency keys for embedded mode and unit tests. */

import type { Notification } from '@parley/protocol';
import {
  type IdempotencyStore,
  INBOX_MORE_CAP,
  type Inbox,
  type InboxPage,
  type KeyClaim,
  type StoredNotification,
  toNotification,
} from './inbox.ts';
import { clampLimit } from './messages.ts';

const live = (expireAt: number | undefined, now: number) => expireAt === undefined || expireAt > now;

export class MemoryInbox implements Inbox, IdempotencyStore {
  readonly #byId = new Map<string, StoredNotification>();
  readonly #keys = new Set<string>();
  readonly #claims = new Map<string, { value: unknown; expireAt: number }>();

  async insertMany(list: readonly StoredNotification[]): Promise<number> {
    let stored = 0;
    for (const n of list) {
      if (this.#byId.has(n.id) || (n.key !== undefined && this.#keys.has(n.key))) continue;
      this.#byId.set(n.id, structuredClone(n));
      if (n.key !== undefined) this.#keys.add(n.key);
      stored++;
    }
    return stored;
  }

  async unread(user: string, limit: number, cap = INBOX_MORE_CAP): Promise<InboxPage> {
    const now = Date.now();
    const all = [...this.#byId.values()]
      .filter((n) => n.user === user && !n.read && live(n.expireAt, now))
      .sort((a, b) => b.createdAt - a.createdAt);
    const page = all.slice(0, clampLimit(limit));
    return {
      unread: page.map((n) => toNotification(structuredClone(n))),
      more: Math.min(cap, all.length - page.length),
    };
  }

  async find(user: string, ids: readonly string[]): Promise<Notification[]> {
    const now = Date.now();
    return [...new Set(ids)].flatMap((id) => {
      const n = this.#byId.get(id);
      return n && n.user === user && live(n.expireAt, now) ? [toNotification(structuredClone(n))] : [];
    });
  }

  async markRead(user: string, ids: readonly string[]): Promise<number> {
    let updated = 0;
    for (const id of new Set(ids)) {
      const n = this.#byId.get(id);
      if (n && n.user === user && !n.read) {
        n.read = true;
        updated++;
      }
    }
    return updated;
  }

  async purgeExpired(): Promise<number> {
    const now = Date.now();
    let purged = 0;
    for (const [id, n] of this.#byId) {
      if (live(n.expireAt, now)) continue;
      this.#byId.delete(id);
      if (n.key !== undefined) this.#keys.delete(n.key);
      purged++;
    }
    for (const [key, c] of this.#claims) {
      if (!live(c.expireAt, now) && this.#claims.delete(key)) purged++;
    }
    return purged;
  }

  async claimKey<T>(key: string, value: T, ttlMs: number): Promise<T | null> {
    const now = Date.now();
    const cur = this.#claims.get(key);
    if (cur && live(cur.expireAt, now)) return structuredClone(cur.value) as T;
    this.#claims.set(key, { value: structuredClone(value), expireAt: now + ttlMs });
    return null;
  }

  async markOnce(keys: readonly string[], ttlMs: number): Promise<boolean[]> {
    const expireAt = Date.now() + ttlMs;
    return keys.map((key) => {
      if (this.#claims.has(key)) return false;
      this.#claims.set(key, { value: 1, expireAt });
      return true;
    });
  }

  async claimMany<T>(claims: readonly KeyClaim<T>[], ttlMs: number): Promise<(T | null)[]> {
    const out: (T | null)[] = [];
    for (const c of claims) out.push(await this.claimKey(c.key, c.value, ttlMs));
    return out;
  }
}
