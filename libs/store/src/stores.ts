/**
 * Every store a service may need, built on one driver: `memoryStores()` for embedded mode and unit
 * tests, `mongoStores(db)` on a database opened with `openMongo()` (which ensured the indexes).
 * Each service hands its parts only the interface they use.
 */
import type { ConversationItem } from '@parley/protocol';
import type { Db } from 'mongodb';
import { MemoryInbox } from './inbox.memory.ts';
import { MongoInbox } from './inbox.mongo.ts';
import type { IdempotencyStore, Inbox } from './inbox.ts';
import { MemoryMessages } from './messages.memory.ts';
import { MongoMessages } from './messages.mongo.ts';
import type { ConversationQuery, MessageQuery, MessageSink, UserDirectory } from './messages.ts';
import { MemoryReads } from './reads.memory.ts';
import { MongoReads } from './reads.mongo.ts';
import type { ReadStore } from './reads.ts';

export interface Stores {
  sink: MessageSink;
  messages: MessageQuery;
  conversations: ConversationQuery;
  /** Users by room and overall, paged (notify's room and broadcast targets). */
  directory: UserDirectory;
  reads: ReadStore;
  inbox: Inbox;
  idempotency: IdempotencyStore;
}

export function memoryStores(): Stores {
  const messages = new MemoryMessages();
  const inbox = new MemoryInbox();
  const reads = new MemoryReads(messages);
  return {
    sink: messages,
    messages,
    conversations: messages,
    directory: messages,
    reads,
    inbox,
    idempotency: inbox,
  };
}

export function mongoStores(db: Db): Stores {
  const messages = new MongoMessages(db);
  const inbox = new MongoInbox(db);
  const reads = new MongoReads(db, messages);
  return {
    sink: messages,
    messages,
    conversations: messages,
    directory: messages,
    reads,
    inbox,
    idempotency: inbox,
  };
}

/** A page of the user's conversations with each one's unread count (one marker query for the page). */
export async function conversationsWithUnread(
  stores: Pick<Stores, 'conversations' | 'reads'>,
  user: string,
  before: number | undefined,
  limit: number,
): Promise<{ items: ConversationItem[]; more: boolean }> {
  const { items, more } = await stores.conversations.conversations(user, before, limit);
  const counts = await stores.reads.unreadCounts(
    user,
    items.map((c) => c.room),
  );
  return { items: items.map((c) => ({ ...c, unread: counts[c.room] ?? 0 })), more };
}
