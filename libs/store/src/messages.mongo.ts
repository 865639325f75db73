/**
 * History on MongoDB. `messages`: one document per (room, seq), unique. `conversations`: one per
 * (user, room) holding only lastSeq/lastTs, indexed (user, lastSeq desc) so a user with thousands
 * of conversations pages by index; the last message itself is read from `messages` when listing
 * (one lookup per item that also yields its prev), so a group room's message is stored once, not
 * once per member, and the conversation update is a single `$max` upsert.
 * Object bodies are stored as JSON text (`bodyJson`): their keys are user content, and a key like
 * `$x` or `a.b` is refused by some servers, which would fail a batch forever and stall the writer.
 */
import type { HistoryPage } from '@parley/protocol';
import type { AnyBulkWriteOperation, Collection, Db, Filter } from 'mongodb';
import { mapLimit } from './concurrency.ts';
import {
  type Conversation,
  type ConversationQuery,
  chainPrev,
  clampLimit,
  conversationUpdates,
  copyMessage,
  type MessageQuery,
  type MessageSink,
  roomMembers,
  type StoredMessage,
  type UserDirectory,
} from './messages.ts';
import { bulkUpsert, Collections, isDuplicateKey } from './mongo.ts';

interface MessageDoc {
  room: string;
  seq: number;
  msgId: string;
  from: string;
  name?: string;
  /** A string body; an object body is in bodyJson instead. */
  body?: string;
  bodyJson?: string;
  ts: number;
  clientMsgId: string;
  /** The members of a user-limited room. */
  members?: string[];
}
interface ConversationDoc {
  user: string;
  room: string;
  lastSeq: number;
  lastTs: number;
}

/** Last-message lookups for a conversation page run this many at a time. */
const LOOKUP_CONCURRENCY = 8;
const NO_ID = { projection: { _id: 0, members: 0 } } as const;

export class MongoMessages implements MessageSink, MessageQuery, ConversationQuery, UserDirectory {
  readonly #messages: Collection<MessageDoc>;
  readonly #convs: Collection<ConversationDoc>;

  constructor(db: Db) {
    this.#messages = db.collection(Collections.messages);
    this.#convs = db.collection(Collections.conversations);
  }

  /**
   * Messages first, then conversations, so a conversation never points at a message not yet
   * stored. Messages go in one unordered insert: the unique (room, seq) index refuses a copy of a
   * stored message, and an unordered insert goes on with the rest of the batch after such an error
   * (mongod and FerretDB v1 alike), so a duplicate-only failure means every message is stored.
   * Inserts, not upserts: FerretDB v1 runs each upsert as a scan, hundreds of times slower.
   */
  async write(batch: readonly StoredMessage[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.#messages.insertMany(batch.map(toDoc), { ordered: false });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const convOps = conversationUpdates(batch).map(
      ({ user, msg }): AnyBulkWriteOperation<ConversationDoc> => ({
        updateOne: {
          filter: { user, room: msg.room },
          update: { $max: { lastSeq: msg.seq, lastTs: msg.ts } },
          upsert: true,
        },
      }),
    );
    await bulkUpsert(this.#convs, convOps);
  }

  async page(room: string, before: number | undefined, limit: number): Promise<HistoryPage> {
    const n = clampLimit(limit);
    const filter: Filter<MessageDoc> = before === undefined ? { room } : { room, seq: { $lt: before } };
    // One extra document tells whether there is more, and is the first message's prev.
    const desc = await this.#messages
      .find(filter, NO_ID)
      .sort({ seq: -1 })
      .limit(n + 1)
      .toArray();
    const extra = desc[n];
    const messages = chainPrev(desc.slice(0, n).reverse().map(fromDoc), extra?.seq ?? 0);
    return { messages, more: extra !== undefined };
  }

  async after(room: string, after: number, limit: number): Promise<HistoryPage> {
    const n = clampLimit(limit);
    const [asc, prev] = await Promise.all([
      this.#messages
        .find({ room, seq: { $gt: after } }, NO_ID)
        .sort({ seq: 1 })
        .limit(n + 1)
        .toArray(),
      this.#seqBefore(room, after + 1),
    ]);
    return { messages: chainPrev(asc.slice(0, n).map(fromDoc), prev), more: asc.length > n };
  }

  async lastSeq(room: string): Promise<number> {
    return this.#seqBefore(room, Number.MAX_SAFE_INTEGER);
  }

  async countAfter(room: string, after: number, cap: number): Promise<number> {
    if (cap < 1) return 0; // a countDocuments limit of 0 means "no limit"
    return this.#messages.countDocuments({ room, seq: { $gt: after } }, { limit: Math.floor(cap) });
  }

  async conversations(user: string, before: number | undefined, limit: number) {
    const n = clampLimit(limit);
    const filter: Filter<ConversationDoc> =
      before === undefined ? { user } : { user, lastSeq: { $lt: before } };
    const docs = await this.#convs
      .find(filter, NO_ID)
      .sort({ lastSeq: -1 })
      .limit(n + 1)
      .toArray();
    const items = await mapLimit(docs.slice(0, n), LOOKUP_CONCURRENCY, async (d): Promise<Conversation> => {
      // The last message and the one before it (its prev) in one indexed lookup.
      const [last, prev] = await this.#messages
        .find({ room: d.room, seq: { $lte: d.lastSeq } }, NO_ID)
        .sort({ seq: -1 })
        .limit(2)
        .toArray();
      const lastMessage = last?.seq === d.lastSeq ? { ...fromDoc(last), prev: prev?.seq ?? 0 } : null;
      return { room: d.room, lastSeq: d.lastSeq, lastMessage };
    });
    return { items, more: docs.length > n };
  }

  roomUsers(room: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.#userPage({ room }, after, limit);
  }

  users(after: string | undefined, limit: number): Promise<string[]> {
    return this.#userPage({}, after, limit);
  }

  /** One index range read of conversation entries by user; a user's several rooms collapse to one id. */
  async #userPage(filter: Filter<ConversationDoc>, after: string | undefined, limit: number) {
    const range = after === undefined ? filter : { ...filter, user: { $gt: after } };
    const docs = await this.#convs
      .find(range, { projection: { _id: 0, user: 1 } })
      .sort({ user: 1 })
      .limit(clampLimit(limit))
      .toArray();
    return [...new Set(docs.map((d) => d.user))];
  }

  /** The room's newest seq below `seq`, 0 if none: one index lookup. */
  async #seqBefore(room: string, seq: number): Promise<number> {
    const doc = await this.#messages.findOne(
      { room, seq: { $lt: seq } },
      { sort: { seq: -1 }, projection: { _id: 0, seq: 1 } },
    );
    return doc?.seq ?? 0;
  }
}

function toDoc(m: StoredMessage): MessageDoc {
  const { body, ...rest } = copyMessage(m);
  const doc: MessageDoc =
    typeof body === 'string' ? { ...rest, body } : { ...rest, bodyJson: JSON.stringify(body) };
  const members = roomMembers(m.room);
  if (members) doc.members = members;
  return doc;
}

function fromDoc(d: MessageDoc): StoredMessage {
  const { body, bodyJson, name, room, seq, msgId, from, ts, clientMsgId } = d;
  const m: StoredMessage = {
    room,
    seq,
    msgId,
    from,
    body: bodyJson === undefined ? (body ?? '') : JSON.parse(bodyJson),
    ts,
    clientMsgId,
  };
  if (name !== undefined) m.name = name;
  return m;
}
