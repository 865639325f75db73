/**
 * Connecting to MongoDB (or a Mongo-wire server such as FerretDB), the collection and index table,
 * and the write helpers every Mongo driver shares.
 */
import {
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Document,
  type IndexDescription,
  MongoBulkWriteError,
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';

export const Collections = {
  messages: 'messages',
  conversations: 'conversations',
  reads: 'reads',
  notifications: 'notifications',
  idempotency: 'idempotency',
} as const;

/** Indexes with a TTL (`expireAfterSeconds`) are created as plain indexes where TTL is unsupported. */
const INDEXES: Record<string, IndexDescription[]> = {
  [Collections.messages]: [{ key: { room: 1, seq: 1 }, unique: true }],
  [Collections.conversations]: [
    { key: { user: 1, room: 1 }, unique: true },
    { key: { user: 1, lastSeq: -1 } },
    // A room's users in id order (notification fan-out to a room).
    { key: { room: 1, user: 1 } },
  ],
  [Collections.reads]: [{ key: { user: 1, room: 1 }, unique: true }],
  [Collections.notifications]: [
    { key: { user: 1, createdAt: -1 } },
    // Serves the (user, read) lookups and the inbox query's sort by newest in one index.
    { key: { user: 1, read: 1, createdAt: -1 } },
    { key: { expireAt: 1 }, expireAfterSeconds: 0 },
    // Sparse, not partial: FerretDB v1 has no partialFilterExpression; sparse skips documents without a key.
    { key: { key: 1 }, unique: true, sparse: true },
  ],
  [Collections.idempotency]: [{ key: { expireAt: 1 }, expireAfterSeconds: 0 }],
};

export interface MongoOptions {
  /**
   * How long an operation waits for a reachable server before it rejects (default 5000 ms). While
   * the server is down every call rejects within about this long; it never hangs.
   */
  serverSelectionTimeoutMS?: number;
  /** TCP connect timeout (default 5000 ms). */
  connectTimeoutMS?: number;
  /** A socket silent this long is closed and its operation rejects (default 30000 ms). */
  socketTimeoutMS?: number;
  /** Connections per server (default 20). */
  maxPoolSize?: number;
  appName?: string;
}

export interface MongoHandle {
  readonly db: Db;
  /** True when the server expires documents itself (TTL indexes); otherwise call purgeExpired(). */
  readonly ttlIndexes: boolean;
  close(): Promise<void>;
}

/**
 * Connects (rejecting after serverSelectionTimeoutMS if no server answers) and ensures every
 * collection's indexes, so a service that started has a usable, indexed database.
 */
export async function openMongo(url: string, dbName: string, opts: MongoOptions = {}): Promise<MongoHandle> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000,
    connectTimeoutMS: opts.connectTimeoutMS ?? 5000,
    socketTimeoutMS: opts.socketTimeoutMS ?? 30_000,
    maxPoolSize: opts.maxPoolSize ?? 20,
    appName: opts.appName ?? 'parley',
  });
  try {
    await client.connect();
    const db = client.db(dbName);
    const { ttlIndexes } = await ensureIndexes(db);
    return { db, ttlIndexes, close: () => client.close() };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}

/**
 * Creates every collection's indexes (idempotent) and reports whether TTL indexes took effect.
 * Verified by listing, not by the absence of an error: FerretDB v1 refuses `expireAfterSeconds` on
 * an existing collection but silently drops it when the collection is new.
 */
export async function ensureIndexes(db: Db): Promise<{ ttlIndexes: boolean }> {
  for (const [name, specs] of Object.entries(INDEXES)) {
    for (const spec of specs) {
      try {
        await db.collection(name).createIndexes([spec]);
      } catch (err) {
        if (spec.expireAfterSeconds === undefined || !isNotImplemented(err)) throw err;
        const { expireAfterSeconds: _, ...plain } = spec;
        await db.collection(name).createIndexes([plain]);
      }
    }
  }
  const listed = await db.collection(Collections.notifications).listIndexes().toArray();
  return { ttlIndexes: listed.some((i) => i.expireAfterSeconds !== undefined) };
}

/**
 * Runs idempotent upserts in one round trip. Ordered, because FerretDB v1 stops at the first write
 * error even when told unordered (and reports no counts), so continuing past an error can't be
 * relied on anywhere. A duplicate key error only arises when a concurrent writer inserted the same
 * key first: the document exists, so one retry makes every upsert match and completes the rest.
 */
export async function bulkUpsert<T extends Document>(
  coll: Collection<T>,
  ops: AnyBulkWriteOperation<T>[],
): Promise<void> {
  if (ops.length === 0) return;
  try {
    await coll.bulkWrite(ops, { ordered: true });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await coll.bulkWrite(ops, { ordered: true });
  }
}

/** True for E11000 (a single error, or a bulk error whose every write error is one). */
export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors = [err.writeErrors].flat();
    return errors.length > 0 && errors.every((e) => e.code === 11000);
  }
  return err instanceof MongoServerError && err.code === 11000;
}

/** Socket-level failures: the server went away under a request (e.g. it was stopped mid-write). */
const NETWORK_CODES: ReadonlySet<unknown> = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTCONN',
  'ETIMEDOUT',
]);

/**
 * True when the store could not be reached (retry later), as opposed to a refused or bad request.
 * Looks through wrappers: a bulk write that never reached a server wraps the network error, and a
 * write on a pooled socket the server had just closed can surface as the bare Node error
 * ("This socket has been ended by the other party", code EPIPE) inside a MongoBulkWriteError.
 */
export function isStoreUnavailable(err: unknown, depth = 0): boolean {
  if (
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNetworkError ||
    err instanceof MongoNotConnectedError
  ) {
    return true;
  }
  if (depth > 3 || typeof err !== 'object' || err === null) return false;
  if (NETWORK_CODES.has((err as { code?: unknown }).code)) return true;
  const inner = err instanceof MongoServerError ? err.errorResponse : undefined;
  return (
    isStoreUnavailable(inner, depth + 1) || isStoreUnavailable((err as { cause?: unknown }).cause, depth + 1)
  );
}

function isNotImplemented(err: unknown): boolean {
  return err instanceof MongoServerError && (err.code === 238 || /not implemented/i.test(err.message));
}
