/**
 * The one suite every store driver passes (memory in src/store.memory.test.ts, Mongo in
 * test/store.mongo.int.test.ts). `make` is called per test and must return empty stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inboxTests } from './inbox.contract.ts';
import type { StoredMessage } from './messages.ts';
import { conversationsWithUnread, type Stores } from './stores.ts';

export function msg(
  room: string,
  seq: number,
  from = 'alice',
  body: StoredMessage['body'] = `m${seq}`,
): StoredMessage {
  return { room, seq, msgId: `id${seq}`, from, body, ts: 1_000 + seq, clientMsgId: `c${seq}` };
}

const seqs = (p: { messages: { seq: number }[] }) => p.messages.map((m) => m.seq);
const prevs = (p: { messages: { prev: number }[] }) => p.messages.map((m) => m.prev);

export function storeContract(
  name: string,
  make: () => Promise<{ stores: Stores; cleanup(): Promise<void> }>,
) {
  describe(`store contract: ${name}`, () => {
    let s: Stores;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ stores: s, cleanup } = await make());
    });
    afterEach(() => cleanup());

    describe('messages', () => messageTests(() => s));
    describe('conversations', () => conversationTests(() => s));
    describe('reads', () => readTests(() => s));
    describe('inbox', () => inboxTests(() => s));
  });
}

function messageTests(get: () => Stores) {
  /** Room r holds seqs 2,4,6,8,10; the odd seqs went to room other (one stream, many rooms). */
  async function seed() {
    const batch = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => msg(n % 2 ? 'other' : 'r', n));
    await get().sink.write(batch);
    return batch;
  }

  it('pages newest first with more and before edges, prev derived from neighbours', async () => {
    const { messages } = get();
    await seed();
    const p1 = await messages.page('r', undefined, 2);
    expect([seqs(p1), prevs(p1), p1.more]).toEqual([[8, 10], [6, 8], true]);
    const p2 = await messages.page('r', 8, 2);
    expect([seqs(p2), prevs(p2), p2.more]).toEqual([[4, 6], [2, 4], true]);
    const p3 = await messages.page('r', 4, 2);
    expect([seqs(p3), prevs(p3), p3.more]).toEqual([[2], [0], false]);
    expect(await messages.page('r', 2, 2)).toEqual({ messages: [], more: false });
    const all = await messages.page('r', 11, 5);
    expect([seqs(all), all.more]).toEqual([[2, 4, 6, 8, 10], false]);
    expect(await messages.page('nowhere', undefined, 5)).toEqual({ messages: [], more: false });
  });

  it('reads after a seq ascending, the first prev looked up', async () => {
    const { messages } = get();
    await seed();
    const a1 = await messages.after('r', 0, 2);
    expect([seqs(a1), prevs(a1), a1.more]).toEqual([[2, 4], [0, 2], true]);
    const a2 = await messages.after('r', 5, 1);
    expect([seqs(a2), prevs(a2), a2.more]).toEqual([[6], [4], true]);
    const a3 = await messages.after('r', 4, 10);
    expect([seqs(a3), prevs(a3), a3.more]).toEqual([[6, 8, 10], [4, 6, 8], false]);
    expect(await messages.after('r', 10, 5)).toEqual({ messages: [], more: false });
  });

  it('returns whole messages, object bodies with reserved-looking keys included', async () => {
    const { sink, messages } = get();
    const body = { $set: { 'a.b': 1 }, list: [1, 'x'] };
    const named = { ...msg('r', 1, 'bob', body), name: 'Bob' };
    await sink.write([{ ...named, prev: 99 } as StoredMessage, msg('r', 2)]);
    const page = await messages.page('r', undefined, 10);
    expect(page.messages).toEqual([
      { ...named, prev: 0 },
      { ...msg('r', 2), prev: 1 },
    ]);
  });

  it('is idempotent per (room, seq): the first write wins, repeats and races leave one', async () => {
    const { sink, messages } = get();
    const batch = [msg('r', 1), msg('r', 2), msg('r', 3)];
    await sink.write(batch);
    await sink.write(batch);
    await sink.write([msg('r', 2, 'mallory', 'changed'), msg('r', 4)]);
    await Promise.all([sink.write(batch), sink.write(batch), sink.write([msg('r', 5), msg('r', 5)])]);
    const page = await messages.page('r', undefined, 100);
    expect(seqs(page)).toEqual([1, 2, 3, 4, 5]);
    expect(page.messages[1]?.body).toBe('m2');
  });

  it('knows the last seq and counts after a seq up to a cap', async () => {
    const { messages } = get();
    await seed();
    expect(await messages.lastSeq('r')).toBe(10);
    expect(await messages.lastSeq('nowhere')).toBe(0);
    expect(await messages.countAfter('r', 0, 100)).toBe(5);
    expect(await messages.countAfter('r', 0, 3)).toBe(3);
    expect(await messages.countAfter('r', 4, 100)).toBe(3);
    expect(await messages.countAfter('r', 10, 100)).toBe(0);
    expect(await messages.countAfter('r', 0, 0)).toBe(0);
  });
}

function conversationTests(get: () => Stores) {
  const dm = 'dm#alice,bob';
  async function seed() {
    await get().sink.write([msg('a', 1), msg('b', 2), msg('a', 3, 'carol'), msg('c', 4), msg('a', 5)]);
    await get().sink.write([msg(dm, 6, 'bob')]);
  }
  const rooms = (r: { items: { room: string }[] }) => r.items.map((i) => i.room);

  it('lists rooms the user wrote to or is a member of, most recent first, paged by lastSeq', async () => {
    const { conversations } = get();
    await seed();
    const p1 = await conversations.conversations('alice', undefined, 2);
    expect([rooms(p1), p1.more]).toEqual([[dm, 'a'], true]);
    expect(p1.items[1]).toEqual({ room: 'a', lastSeq: 5, lastMessage: { ...msg('a', 5), prev: 3 } });
    expect(p1.items[0]?.lastMessage).toEqual({ ...msg(dm, 6, 'bob'), prev: 0 });
    const p2 = await conversations.conversations('alice', 5, 2);
    expect([rooms(p2), p2.more]).toEqual([['c', 'b'], false]);
    expect(rooms(await conversations.conversations('bob', undefined, 10))).toEqual([dm]);
    expect(rooms(await conversations.conversations('carol', undefined, 10))).toEqual(['a']);
    expect(await conversations.conversations('nobody', undefined, 10)).toEqual({ items: [], more: false });
  });

  it("pages a room's users and all users by id, each once, ending with an empty page", async () => {
    const { directory } = get();
    await seed();
    const walk = async (next: (after: string | undefined) => Promise<string[]>) => {
      const pages: string[][] = [];
      for (
        let after: string | undefined, page = await next(after);
        page.length > 0;
        page = await next(after)
      ) {
        pages.push(page);
        after = page.at(-1);
      }
      return pages.flat();
    };
    expect(await walk((after) => directory.roomUsers('a', after, 1))).toEqual(['alice', 'carol']);
    expect(await walk((after) => directory.roomUsers(dm, after, 10))).toEqual(['alice', 'bob']);
    expect(await directory.roomUsers('nowhere', undefined, 10)).toEqual([]);
    expect(await walk((after) => directory.users(after, 2))).toEqual(['alice', 'bob', 'carol']);
  });

  it('never moves a conversation backwards (older batches, out-of-order batches)', async () => {
    const { sink, conversations } = get();
    await seed();
    await sink.write([msg('a', 1)]);
    await sink.write([msg('b', 9), msg('b', 2)]);
    const items = (await conversations.conversations('alice', undefined, 10)).items;
    expect(items.map((i) => [i.room, i.lastSeq])).toEqual([
      ['b', 9],
      [dm, 6],
      ['a', 5],
      ['c', 4],
    ]);
  });

  it('adds unread counts from the read markers', async () => {
    const s = get();
    await seed();
    await s.reads.mark('alice', 'a', 3);
    const { items } = await conversationsWithUnread(s, 'alice', undefined, 10);
    expect(items.map((i) => [i.room, i.unread])).toEqual([
      [dm, 1],
      ['a', 1],
      ['c', 1],
      ['b', 1],
    ]);
  });
}

function readTests(get: () => Stores) {
  it('moves markers forward only, under races too', async () => {
    const { reads } = get();
    expect(await reads.mark('u', 'r', 5)).toBe(5);
    expect(await reads.mark('u', 'r', 3)).toBe(5);
    expect(await reads.mark('u', 'r', 7)).toBe(7);
    const raced = await Promise.all([2, 9, 4].map((n) => reads.mark('u', 'fresh', n)));
    raced.forEach((stored, i) => {
      expect(stored).toBeGreaterThanOrEqual([2, 9, 4][i] ?? 0);
    });
    expect(await reads.get('u', ['r', 'fresh', 'unknown'])).toEqual({ r: 7, fresh: 9 });
    expect(await reads.get('someone-else', ['r'])).toEqual({});
    expect(await reads.get('u', [])).toEqual({});
  });

  it('counts unread after the marker, capped, for many rooms at once', async () => {
    const { sink, reads } = get();
    const rooms = Array.from({ length: 100 }, (_, i) => `room${i}`);
    await sink.write(rooms.flatMap((room, i) => [1, 2, 3].map((k) => msg(room, i * 10 + k))));
    await reads.mark('u', 'room0', 2);
    await reads.mark('u', 'room1', 13);
    const counts = await reads.unreadCounts('u', [...rooms, 'room0', 'empty']);
    expect(Object.keys(counts)).toHaveLength(101);
    expect([counts.room0, counts.room1, counts.room2, counts.empty]).toEqual([1, 0, 3, 0]);
    expect((await reads.unreadCounts('u', ['room5'], 2)).room5).toBe(2);
  });
}
