import { uniquePrefix } from '@parley/testkit';
import { describe, expect, inject, it } from 'vitest';
import { Collections, openMongo } from '../src/mongo.ts';
import { storeContract } from '../src/store.contract.ts';
import { mongoStores } from '../src/stores.ts';

const url = inject('mongoUrl');

/** Each test gets its own database on the shared server, dropped afterwards. */
storeContract('mongo', async () => {
  const mongo = await openMongo(url, uniquePrefix('store'));
  return {
    stores: mongoStores(mongo.db),
    cleanup: async () => {
      await mongo.db.dropDatabase();
      await mongo.close();
    },
  };
});

describe('openMongo', () => {
  it('ensures every index, TTL where the server has it, a plain expireAt index where not', async () => {
    const mongo = await openMongo(url, uniquePrefix('store_idx'));
    try {
      const keys = async (name: string) =>
        (await mongo.db.collection(name).listIndexes().toArray()).map((i) => ({
          key: i.key,
          unique: i.unique === true,
          ttl: i.expireAfterSeconds,
        }));
      expect(await keys(Collections.messages)).toContainEqual({
        key: { room: 1, seq: 1 },
        unique: true,
        ttl: undefined,
      });
      expect(await keys(Collections.conversations)).toContainEqual({
        key: { user: 1, lastSeq: -1 },
        unique: false,
        ttl: undefined,
      });
      expect(await keys(Collections.reads)).toContainEqual({
        key: { user: 1, room: 1 },
        unique: true,
        ttl: undefined,
      });
      const ttl = mongo.ttlIndexes ? 0 : undefined;
      const notes = await keys(Collections.notifications);
      expect(notes).toContainEqual({ key: { expireAt: 1 }, unique: false, ttl });
      expect(notes).toContainEqual({ key: { key: 1 }, unique: true, ttl: undefined });
      expect(await keys(Collections.idempotency)).toContainEqual({
        key: { expireAt: 1 },
        unique: false,
        ttl,
      });
      // Indexes are ensured idempotently at every service start.
      await expect(openMongo(url, mongo.db.databaseName).then((m) => m.close())).resolves.toBeUndefined();
    } finally {
      await mongo.db.dropDatabase();
      await mongo.close();
    }
  });
});
