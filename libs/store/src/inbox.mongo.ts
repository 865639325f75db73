/**
 * Inbox and idempotency keys on MongoDB. `notifications`: `_id` is the notification id; `data` is
 * stored as JSON text (`dataJson`) because its keys are producer content and a key like `$x` is
 * refused by some servers. `idempotency`: `_id` is the key, the first answer as JSON text.
 * Both carry `expireAt` (a Date) under a TTL index where the server has them; queries skip expired
 * documents regardless, since TTL deletion lags (up to a minute on mongod, never on FerretDB v1).
 */
import type { Notification } from '@parley/protocol';
import { type Collection, type Db, type Filter, MongoBulkWriteError } from 'mongodb';
import {
  type IdempotencyStore,
  INBOX_MORE_CAP,
  type Inbox,
  type InboxPage,
  type KeyClaim,
  type StoredNotification,
} from './inbox.ts';
import { clampLimit } from './messages.ts';
import { Collections, isDuplicateKey } from './mongo.ts';

interface NotificationDoc {
  _id: string;
  user: string;
  title: string;
  body: string;
  dataJson?: string;
  createdAt: number;
  read: boolean;
  expireAt?: Date;
  key?: string;
}
interface ClaimDoc {
  _id: string;
  valueJson: string;
  expireAt: Date;
}

export class MongoInbox implements Inbox, IdempotencyStore {
  readonly #notes: Collection<NotificationDoc>;
  readonly #claims: Collection<ClaimDoc>;

  constructor(db: Db) {
    this.#notes = db.collection(Collections.notifications);
    this.#claims = db.collection(Collections.idempotency);
  }

  /**
   * Unordered insert: a duplicate id or key fails only its own document and the server goes on
   * with the rest (mongod and FerretDB v1 alike, for inserts), so a duplicate-only error is success.
   */
  async insertMany(list: readonly StoredNotification[]): Promise<number> {
    if (list.length === 0) return 0;
    try {
      return (await this.#notes.insertMany(list.map(toDoc), { ordered: false })).insertedCount;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return list.length - (duplicateIndexes(err)?.length ?? list.length);
    }
  }

  async unread(user: string, limit: number, cap = INBOX_MORE_CAP): Promise<InboxPage> {
    const n = clampLimit(limit);
    const filter: Filter<NotificationDoc> = { user, read: false, ...unexpired() };
    const [docs, total] = await Promise.all([
      this.#notes.find(filter).sort({ createdAt: -1 }).limit(n).toArray(),
      this.#notes.countDocuments(filter, { limit: n + Math.max(0, Math.floor(cap)) }),
    ]);
    return { unread: docs.map(fromDoc), more: Math.max(0, total - docs.length) };
  }

  async find(user: string, ids: readonly string[]): Promise<Notification[]> {
    if (ids.length === 0) return [];
    const docs = await this.#notes.find({ user, _id: { $in: [...ids] }, ...unexpired() }).toArray();
    return docs.map(fromDoc);
  }

  async markRead(user: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const res = await this.#notes.updateMany(
      { user, _id: { $in: [...ids] }, read: false },
      { $set: { read: true } },
    );
    return res.modifiedCount;
  }

  async purgeExpired(): Promise<number> {
    const expired = { expireAt: { $lte: new Date() } };
    const [a, b] = await Promise.all([this.#notes.deleteMany(expired), this.#claims.deleteMany(expired)]);
    return a.deletedCount + b.deletedCount;
  }

  /**
   * Insert-first: the unique `_id` decides the winner atomically. A loser reads the winner's answer;
   * a key that expired but was not purged yet is deleted (only that incarnation) and claimed again.
   */
  async claimKey<T>(key: string, value: T, ttlMs: number): Promise<T | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#claims.insertOne({
          _id: key,
          valueJson: JSON.stringify(value),
          expireAt: new Date(Date.now() + ttlMs),
        });
        return null;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const cur = await this.#claims.findOne({ _id: key });
      if (cur && cur.expireAt.getTime() > Date.now()) return JSON.parse(cur.valueJson) as T;
      if (attempt > 0) throw new Error(`idempotency key "${key}" is contended`);
      if (cur) await this.#claims.deleteOne({ _id: key, expireAt: cur.expireAt });
    }
  }

  /**
   * One unordered insert for every claim; the few that hit an existing key (retries) then go
   * through `claimKey`, which reads the first answer or takes over an expired key.
   */
  async claimMany<T>(claims: readonly KeyClaim<T>[], ttlMs: number): Promise<(T | null)[]> {
    if (claims.length === 0) return [];
    const expireAt = new Date(Date.now() + ttlMs);
    const docs = claims.map((c) => ({ _id: c.key, valueJson: JSON.stringify(c.value), expireAt }));
    let lost: number[] = [];
    try {
      await this.#claims.insertMany(docs, { ordered: false });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      lost = duplicateIndexes(err) ?? claims.map((_, i) => i);
    }
    const out: (T | null)[] = claims.map(() => null);
    await Promise.all(
      lost.map(async (i) => {
        const c = claims[i] as KeyClaim<T>;
        out[i] = await this.claimKey(c.key, c.value, ttlMs);
      }),
    );
    return out;
  }

  async markOnce(keys: readonly string[], ttlMs: number): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const expireAt = new Date(Date.now() + ttlMs);
    const won = keys.map(() => true);
    try {
      await this.#claims.insertMany(
        keys.map((key) => ({ _id: key, valueJson: '1', expireAt })),
        { ordered: false },
      );
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      for (const i of duplicateIndexes(err) ?? keys.map((_, i) => i)) won[i] = false;
    }
    return won;
  }
}

/** The positions of a bulk insert's refused documents; undefined when the error does not say. */
function duplicateIndexes(err: unknown): number[] | undefined {
  return err instanceof MongoBulkWriteError ? [err.writeErrors].flat().map((e) => e.index) : undefined;
}

function unexpired(): Filter<NotificationDoc> {
  return { $or: [{ expireAt: { $exists: false } }, { expireAt: { $gt: new Date() } }] };
}

function toDoc(n: StoredNotification): NotificationDoc {
  const doc: NotificationDoc = {
    _id: n.id,
    user: n.user,
    title: n.title,
    body: n.body,
    createdAt: n.createdAt,
    read: n.read,
  };
  if (n.data !== undefined) doc.dataJson = JSON.stringify(n.data);
  if (n.expireAt !== undefined) doc.expireAt = new Date(n.expireAt);
  if (n.key !== undefined) doc.key = n.key;
  return doc;
}

function fromDoc(d: NotificationDoc): Notification {
  const n: Notification = { id: d._id, title: d.title, body: d.body, createdAt: d.createdAt, read: d.read };
  if (d.dataJson !== undefined) n.data = JSON.parse(d.dataJson);
  return n;
}
