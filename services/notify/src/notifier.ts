/**
 * Accepting a notification: claim its idempotency key, expand the target batch by batch, store each
 * batch's inbox rows, answer; live delivery follows each stored batch. The caller answers (202,
 * Kafka commit) only after `accept` resolves, so an accepted notification is in the inbox: a crash
 * after that loses at most the live copy, and the user gets it as unread on the next connect.
 *
 * Idempotency: the first claim of a key fixes the notification's id and createdAt; each user's row id
 * is derived from them (`<id>:<user>`), so a retry — after a crash halfway, or concurrent with the
 * first attempt — rewrites the same rows (a no-op) and never creates a second notification.
 *
 * Live delivery of a keyed request is recorded per row with a once-marker `live:<rowId>`, so a
 * retry finishes an interrupted request: it publishes the rows no marker covers (stored but not
 * delivered before a crash, or never stored) and skips the rest, whatever the batch sizes.
 * - The first attempt (the one that won the key) publishes a stored batch at once and marks it
 *   afterwards: a crash can lose no live copy that a retry would not make up.
 * - A retry marks first and publishes only the rows it marked, so concurrent retries never both
 *   publish a row.
 * A row is published twice only across a crash between the first attempt's publish and its
 * marker, or when a retry overtakes a still-running first attempt. A second copy carries the same
 * id, which clients already treat as an update (read sync re-sends ids with `read: true`). A
 * request without a key cannot be retried as itself, so its rows are published and not marked.
 *
 * Writes go through three group commits (rows, key claims, live marks) shared by all requests:
 * concurrent requests cost a few large inserts instead of a round trip each.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '@parley/bus';
import type { Logger } from '@parley/log';
import type { KeyClaim, StoredNotification, Stores } from '@parley/store';
import { Batcher } from './batcher.ts';
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
  log: Logger;
  batchSize: number;
  defaultTtlMs: number;
  idempotencyTtlMs: number;
}

/** What the first claim of a key fixes. `recipients` is known up front for a list of users. */
interface Claim {
  id: string;
  createdAt: number;
  recipients?: number;
}

/**
 * How a fan-out delivers live: `unmarked` (no key), `first` (won the key: publish, then mark),
 * `retry` (the key was taken: mark, then publish what this call marked).
 */
type Attempt = 'unmarked' | 'first' | 'retry';

const liveMark = (row: StoredNotification) => `live:${row.id}`;

/** A user's copy of notification `id`: stable, so storing it again is a no-op. */
export const rowId = (id: string, user: string): string => `${id}:${user}`;

/** Inserts in flight at once per group commit (measured on FerretDB: two beat one, four did not beat two). */
const WRITES_IN_FLIGHT = 2;

export class Notifier {
  readonly #rows: Batcher<StoredNotification, never>;
  readonly #claims: Batcher<KeyClaim<unknown>, unknown>;
  readonly #marks: Batcher<string, boolean>;
  /** Live deliveries waiting for their claim; `drain` waits for them. */
  readonly #live = new Set<Promise<void>>();

  constructor(private readonly o: NotifierOptions) {
    const opts = { maxItems: o.batchSize, maxInFlight: WRITES_IN_FLIGHT };
    const size = (kind: string, n: number) => o.metrics.writeBatch.observe({ kind }, n);
    this.#rows = new Batcher(async (rows) => {
      size('rows', rows.length);
      o.metrics.stored.inc(await o.stores.inbox.insertMany(rows));
      return [];
    }, opts);
    this.#claims = new Batcher((claims) => {
      size('claims', claims.length);
      return o.stores.idempotency.claimMany(claims, o.idempotencyTtlMs);
    }, opts);
    this.#marks = new Batcher((keys) => {
      size('marks', keys.length);
      return o.stores.idempotency.markOnce(keys, o.idempotencyTtlMs);
    }, opts);
  }

  /**
   * Stores the notification for every recipient, delivers it live, and resolves with its id and
   * the number of recipients. `key` (already namespaced by the caller) makes a retry return the
   * first answer and finish what an interrupted attempt left undone. Rejects when the store fails;
   * nothing is promised then and the caller may retry.
   */
  async accept(input: NotifyInput, key?: string): Promise<Accepted & { replayed: boolean }> {
    const fresh: Claim = { id: randomUUID(), createdAt: Date.now() };
    if ('users' in input.to) fresh.recipients = input.to.users.length;
    if (key === undefined) {
      const count = await this.#fanOut(fresh, input, 'unmarked');
      return { id: fresh.id, recipients: count, replayed: false };
    }
    const prior = (await this.#claim(`req:${key}`, fresh)) as Claim | null;
    const claim = prior ?? fresh;
    const count = await this.#fanOut(claim, input, prior === null ? 'first' : 'retry');
    const replayed = prior !== null;
    if (claim.recipients !== undefined) return { id: claim.id, recipients: claim.recipients, replayed };
    // A room's or everyone's size is known only now, and may differ between attempts: the first
    // complete answer is recorded and returned to every later retry.
    const answer: Accepted = { id: claim.id, recipients: count };
    const first = (await this.#claim(`done:${key}`, answer)) as Accepted | null;
    return { ...(first ?? answer), replayed };
  }

  /**
   * Stores rows and publishes each live once across every call with the same row ids (mentions,
   * whose rows have their own stable ids: a redelivered record publishes nothing again).
   */
  async storeOnce(rows: readonly StoredNotification[]): Promise<void> {
    await this.#rows.submit(rows);
    await this.#publishOnce(rows);
  }

  /** Resolves when the live deliveries and markers still in the background are done. */
  async drain(): Promise<void> {
    while (this.#live.size > 0) await Promise.all(this.#live);
  }

  async #claim(key: string, value: unknown): Promise<unknown> {
    return (await this.#claims.submit([{ key, value }]))[0] ?? null;
  }

  /** Reads the next batch of recipients while the current one is stored: at most two batches in memory. */
  async #fanOut(claim: Claim, input: NotifyInput, attempt: Attempt): Promise<number> {
    const ttlMs = input.ttlSeconds === undefined ? this.o.defaultTtlMs : input.ttlSeconds * 1000;
    const batches = recipients(input.to, this.o.stores.directory, this.o.batchSize);
    let next = batches.next();
    let count = 0;
    try {
      for (let r = await next; !r.done; r = await next) {
        next = batches.next();
        const rows = r.value.map((user) => this.#row(claim, user, input, ttlMs));
        await this.#rows.submit(rows);
        count += rows.length;
        if (attempt !== 'retry') this.#publish(rows);
        if (attempt === 'first') this.#background(this.#marks.submit(rows.map(liveMark)));
        if (attempt === 'retry') this.#background(this.#publishOnce(rows));
      }
    } catch (e) {
      next.catch(() => {}); // the prefetch's own failure, if any, is superseded by this one
      throw e;
    }
    return count;
  }

  #publish(rows: readonly StoredNotification[]): void {
    for (const row of rows) publishNotification(this.o.bus, this.o.metrics, row.user, wireOf(row));
  }

  /** Marks each stored row's live delivery, then publishes the rows this call marked first. */
  async #publishOnce(rows: readonly StoredNotification[]): Promise<void> {
    const won = await this.#marks.submit(rows.map(liveMark));
    this.#publish(rows.filter((_, i) => won[i]));
  }

  /**
   * Live-delivery work the answer does not wait for: the rows are stored, and a marker's round
   * trip is not the producer's business. A failure is logged: the rows are unread in the inbox
   * either way (and an unmarked row is published again by a retry, if one comes).
   */
  #background(work: Promise<unknown>): void {
    const task = work.then(
      () => {},
      (e) => this.o.log.warn({ err: e }, 'live delivery marker not written'),
    );
    this.#live.add(task);
    void task.finally(() => this.#live.delete(task));
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
