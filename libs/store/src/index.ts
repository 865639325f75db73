export type { IdempotencyStore, Inbox, InboxPage, KeyClaim, StoredNotification } from './inbox.ts';
export { INBOX_MORE_CAP } from './inbox.ts';
export type {
  Conversation,
  ConversationQuery,
  MessageQuery,
  MessageSink,
  StoredMessage,
  UserDirectory,
} from './messages.ts';
export {
  Collections,
  ensureIndexes,
  isDuplicateKey,
  isStoreUnavailable,
  type MongoHandle,
  type MongoOptions,
  openMongo,
} from './mongo.ts';
export type { ReadStore } from './reads.ts';
export { conversationsWithUnread, memoryStores, mongoStores, type Stores } from './stores.ts';
