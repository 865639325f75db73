/**
 * Accepting a notification: claim its idempotency key, expand the target batch by batch, store each
 * batch's inbox rows, then publish them live. The caller answers (202, Kafka commit) only after
 * `accept` resolves, so an accepted notification is in the inbox: a crash after that loses at most
 * the live copy, and the user gets it as unread on the next connect.
 *
 * Idempotency: the first claim of a key fixes the notification's id and createdAt; each user's row id
 * is derived from them (`<id>:<user>`), so a retry — after a crash halfway, or concurrent with the
 * first attempt — rewrites the same rows (a no-op) and never creates a second notification. A retry
 * does not publish live again; the first finished answer is recorded under a second key and returned
 * to every later retry unchanged.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '@parley/bus';
import type { StoredNotification, Stores } from '@parley/store';
import { InboxBatcher } from './batcher.ts';
import { publishNotification, wireOf } from './delivery.ts';
import type { NotifyMetrics } from './metrics.ts';
import { recipients } from './recipients.ts';
import type { NotifyInput } from './request.ts';

export interface Accepted {
  id: string;
  recipients: number;
}

export interface NotifierOptions {
  stores: Pick<Stores, 'inbox' | 'idempotency' | 'directory'>;
  bus: Bus;
  metrics: NotifyMetrics;
  batchSize: number;
  defaultTtlMs: number;
  idempotencyTtlMs: number;
}

interface Claim {
  id: string;
  createdAt: number;
}

/** A user's copy of notification `id`: stable, so storing it again is a no-op. */
export const rowId = (id: string, user: string): string => `${id}:${user}`;

export class Notifier {
  readonly #writes: InboxBatcher;

  constructor(private readonly o: NotifierOptions) {
    this.#writes = new InboxBatcher(o.stores.inbox, o.batchSize);
  }

  /**
   * Stores the notification for every recipient, publishes it live, and resolves with its id and
   * the number of rows stored. `key` (already namespaced by the caller) makes a retry return the
   * first answer. Rejects when the store fails; nothing is promised then and the caller may retry.
   */
  async accept(input: NotifyInput, key?: string): Promise<Accepted & { replayed: boolean }> {
    const { idempotency } = this.o.stores;
    const fresh: Claim = { id: randomUUID(), createdAt: Date.now() };
    const prior =
      key === undefined ? null : await idempotency.claimKey(`req:${key}`, fresh, this.o.idempotencyTtlMs);
    const claim = prior ?? fresh;
    const count = await this.#fanOut(claim, input, prior === null);
    const answer: Accepted = { id: claim.id, recipients: count };
    if (key === undefined) return { ...answer, replayed: false };
    const first = await idempotency.claimKey(`done:${key}`, answer, this.o.idempotencyTtlMs);
    return { ...(first ?? answer), replayed: prior !== null };
  }

  /**
   * Stores rows and publishes live only the ones this call is the first to store, decided by a
   * per-row claim made after the write: a redelivered record stores nothing new and publishes nothing.
   * For small, rare batches (mentions), where a claim per row is cheap.
   */
  async storeOnce(rows: readonly StoredNotification[]): Promise<void> {
    await this.o.stores.inbox.insertMany(rows);
    this.o.metrics.stored.inc(rows.length);
    for (const row of rows) {
      const won = await this.o.stores.idempotency.claimKey(`live:${row.id}`, 1, this.o.idempotencyTtlMs);
      if (won === null) publishNotification(this.o.bus, this.o.metrics, row.user, wireOf(row));
    }
  }

  /** Reads the next batch of recipients while the current one is stored: at most two batches in memory. */
  async #fanOut(claim: Claim, input: NotifyInput, live: boolean): Promise<number> {
    const ttlMs = input.ttlSeconds === undefined ? this.o.defaultTtlMs : input.ttlSeconds * 1000;
    const batches = recipients(input.to, this.o.stores.directory, this.o.batchSize);
    let next = batches.next();
    let count = 0;
    try {
      for (let r = await next; !r.done; r = await next) {
        next = batches.next();
        const rows = r.value.map((user) => this.#row(claim, user, input, ttlMs));
        await this.#writes.insert(rows);
        this.o.metrics.stored.inc(rows.length);
        count += rows.length;
        if (live)
          for (const row of rows) publishNotification(this.o.bus, this.o.metrics, row.user, wireOf(row));
      }
    } catch (e) {
      next.catch(() => {}); // the prefetch's own failure, if any, is superseded by this one
      throw e;
    }
    return count;
  }

  #row(claim: Claim, user: string, input: NotifyInput, ttlMs: number): StoredNotification {
    const row: StoredNotification = {
      id: rowId(claim.id, user),
      user,
      title: input.title,
      body: input.body,
      createdAt: claim.createdAt,
      read: false,
      expireAt: claim.createdAt + ttlMs,
    };
    if (input.data !== undefined) row.data = input.data;
    return row;
  }
}
