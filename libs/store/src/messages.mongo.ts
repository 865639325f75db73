/**
 * History on MongoDB. `messages`: one document per (room, seq), unique; `conversations`: one per
 * (user, room) holding that conversation's newest message, indexed (user, lastSeq desc) so a user
 * with thousands of conversations pages by index. Object bodies are stored as JSON text (`bodyJson`):
 * their keys are user content, and a key like `$x` or `a.b` is refused by some servers, which would
 * make a batch fail forever and stall the writer's partition.
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
import { bulkUpsert, Collections } from './mongo.ts';

/** A message's fields as stored (in `messages`, and as a conversation's lastMessage). */
interface MessageFields {
  room: string;
  seq: number;
  msgId: string;
  from: string;
  name?: string;
  body?: string;
  bodyJson?: string;
  ts: number;
  clientMsgId: string;
}
interface MessageDoc extends MessageFields {
  /** The members of a user-limited room. */
  members?: string[];
}
interface ConversationDoc {
  user: string;
  room: string;
  lastSeq: number;
  lastTs: number;
  lastMessage: MessageFields;
}

/** Prev lookups for a conversation page run this many at a time. */
const PREV_CONCURRENCY = 8;
const NO_ID = { projection: { _id: 0, members: 0 } } as const;

export class MongoMessages implements MessageSink, MessageQuery, ConversationQuery, UserDirectory {
  readonly #messages: Collection<MessageDoc>;
  readonly #convs: Collection<ConversationDoc>;

  constructor(db: Db) {
    this.#messages = db.collection(Collections.messages);
    this.#convs = db.collection(Collections.conversations);
  }

  /** Two round trips in parallel (messages, conversations), both idempotent: a retry repeats both. */
  async write(batch: readonly StoredMessage[]): Promise<void> {
    const messageOps: AnyBulkWriteOperation<MessageDoc>[] = batch.map((m) => {
      const { room, seq, ...rest } = toDoc(m);
      return { updateOne: { filter: { room, seq }, update: { $setOnInsert: rest }, upsert: true } };
    });
    // Per (user, room): create the entry if missing, else move it forward only if this message is
    // newer. A filter-with-$lt upsert would do it in one op, but raises a duplicate key error
    // whenever the entry is already newer, and FerretDB stops the batch at such an error.
    const convOps = conversationUpdates(batch).flatMap(
      ({ user, msg }): AnyBulkWriteOperation<ConversationDoc>[] => {
        const entry = { lastSeq: msg.seq, lastTs: msg.ts, lastMessage: toFields(msg) };
        const key = { user, room: msg.room };
        return [
          { updateOne: { filter: key, update: { $setOnInsert: entry }, upsert: true } },
          { updateOne: { filter: { ...key, lastSeq: { $lt: msg.seq } }, update: { $set: entry } } },
        ];
      },
    );
    await Promise.all([bulkUpsert(this.#messages, messageOps), bulkUpsert(this.#convs, convOps)]);
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
    const messages = chainPrev(desc.slice(0, n).reverse().map(fromFields), extra?.seq ?? 0);
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
    return { messages: chainPrev(asc.slice(0, n).map(fromFields), prev), more: asc.length > n };
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
    const items = await mapLimit(docs.slice(0, n), PREV_CONCURRENCY, async (d): Promise<Conversation> => {
      const prev = await this.#seqBefore(d.room, d.lastSeq);
      return { room: d.room, lastSeq: d.lastSeq, lastMessage: { ...fromFields(d.lastMessage), prev } };
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

function toFields(m: StoredMessage): MessageFields {
  const { body, ...rest } = copyMessage(m);
  return typeof body === 'string' ? { ...rest, body } : { ...rest, bodyJson: JSON.stringify(body) };
}

function toDoc(m: StoredMessage): MessageDoc {
  const members = roomMembers(m.room);
  return members ? { ...toFields(m), members } : toFields(m);
}

function fromFields(d: MessageFields): StoredMessage {
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
