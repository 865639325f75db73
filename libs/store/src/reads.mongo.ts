/** Read markers on MongoDB: collection `reads`, one document per (user, room), unique. */
import type { Collection, Db } from 'mongodb';
import type { MessageQuery } from './messages.ts';
import { Collections, isDuplicateKey } from './mongo.ts';
import { countUnread, type ReadStore } from './reads.ts';

interface ReadDoc {
  user: string;
  room: string;
  seq: number;
}

export class MongoReads implements ReadStore {
  readonly #reads: Collection<ReadDoc>;
  /** The pending mark per (user, room) of this process; see mark(). */
  readonly #pending = new Map<string, Promise<number>>();

  constructor(
    db: Db,
    private readonly messages: Pick<MessageQuery, 'countAfter'>,
  ) {
    this.#reads = db.collection(Collections.reads);
  }

  /**
   * `$max` with upsert, answered with the stored document in one round trip. Two first marks racing
   * both try to insert; the loser gets a duplicate key error and its retry finds the document.
   * No projection: FerretDB v1's findAndModify refuses one, and the document is three fields.
   * Marks of one (user, room) run one at a time in this process: FerretDB v1 applies `$max` as a
   * read then a write, so concurrent marks could lose the higher one (MongoDB's is atomic).
   */
  mark(user: string, room: string, seq: number): Promise<number> {
    const key = JSON.stringify([user, room]);
    const run = (this.#pending.get(key) ?? Promise.resolve(0))
      .catch(() => 0)
      .then(() => this.#markOnce(user, room, seq));
    this.#pending.set(key, run);
    const forget = () => {
      if (this.#pending.get(key) === run) this.#pending.delete(key);
    };
    run.then(forget, forget);
    return run;
  }

  async #markOnce(user: string, room: string, seq: number): Promise<number> {
    const once = () =>
      this.#reads.findOneAndUpdate(
        { user, room },
        { $max: { seq } },
        { upsert: true, returnDocument: 'after' },
      );
    const doc = await once().catch((err: unknown) => {
      if (isDuplicateKey(err)) return once();
      throw err;
    });
    return doc?.seq ?? seq;
  }

  async get(user: string, rooms: readonly string[]): Promise<Record<string, number>> {
    if (rooms.length === 0) return {};
    const docs = await this.#reads
      .find({ user, room: { $in: [...rooms] } }, { projection: { _id: 0, room: 1, seq: 1 } })
      .toArray();
    return Object.fromEntries(docs.map((d) => [d.room, d.seq]));
  }

  unreadCounts(user: string, rooms: readonly string[], cap?: number): Promise<Record<string, number>> {
    return countUnread(this, this.messages, user, rooms, cap);
  }
}
