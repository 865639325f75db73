/**
 * The inbox and idempotency part of the store contract (run by store.contract.ts against every
 * driver).
 */
import { expect, it } from 'vitest';
import type { StoredNotification } from './inbox.ts';
import type { Stores } from './stores.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function note(id: string, createdAt: number, extra: Partial<StoredNotification> = {}): StoredNotification {
  return { id, user: 'u', title: `t-${id}`, body: `b-${id}`, createdAt, read: false, ...extra };
}

export function inboxTests(get: () => Stores) {
  it('lists unread newest first with a capped count of the rest', async () => {
    const { inbox } = get();
    await inbox.insertMany([
      note('n1', 1),
      note('n2', 2, { data: { $k: { 'x.y': 1 } } }),
      note('n3', 3),
      note('n4', 4),
    ]);
    await inbox.insertMany([note('other', 5, { user: 'v' })]);
    const page = await inbox.unread('u', 2);
    expect(page.unread).toEqual([
      { id: 'n4', title: 't-n4', body: 'b-n4', createdAt: 4, read: false },
      { id: 'n3', title: 't-n3', body: 'b-n3', createdAt: 3, read: false },
    ]);
    expect(page.more).toBe(2);
    expect((await inbox.unread('u', 1, 2)).more).toBe(2);
    expect((await inbox.unread('u', 10)).unread[2]?.data).toEqual({ $k: { 'x.y': 1 } });
  });

  it('stores each id and each key once, the rest of a batch still landing, and counts the new', async () => {
    const { inbox } = get();
    expect(await inbox.insertMany([note('n1', 1, { key: 'k1' })])).toBe(1);
    expect(
      await inbox.insertMany([
        note('n1', 9, { title: 'again' }),
        note('n2', 2, { key: 'k1' }),
        note('n3', 3),
      ]),
    ).toBe(1);
    expect(await inbox.insertMany([note('n3', 3), note('n4', 4)])).toBe(1);
    expect(await inbox.insertMany([note('n4', 4)])).toBe(0);
    expect(await inbox.insertMany([])).toBe(0);
    const page = await inbox.unread('u', 10);
    expect(page.unread.map((n) => [n.id, n.title])).toEqual([
      ['n4', 't-n4'],
      ['n3', 't-n3'],
      ['n1', 't-n1'],
    ]);
  });

  it('marks the user’s own notifications read and counts the changes', async () => {
    const { inbox } = get();
    await inbox.insertMany([note('n1', 1), note('n2', 2), note('v1', 3, { user: 'v' })]);
    expect(await inbox.markRead('u', ['n1', 'v1', 'missing'])).toBe(1);
    expect(await inbox.markRead('u', ['n1'])).toBe(0);
    expect(await inbox.markRead('u', [])).toBe(0);
    expect((await inbox.unread('u', 10)).unread.map((n) => n.id)).toEqual(['n2']);
    expect((await inbox.unread('v', 10)).unread.map((n) => n.id)).toEqual(['v1']);
  });

  it('finds the user’s own notifications by id, read or not', async () => {
    const { inbox } = get();
    await inbox.insertMany([note('n1', 1), note('n2', 2, { data: { a: 1 } }), note('v1', 3, { user: 'v' })]);
    await inbox.markRead('u', ['n1']);
    const found = await inbox.find('u', ['n2', 'n1', 'v1', 'missing', 'n1']);
    expect(found.sort((x, y) => x.createdAt - y.createdAt)).toEqual([
      { id: 'n1', title: 't-n1', body: 'b-n1', createdAt: 1, read: true },
      { id: 'n2', title: 't-n2', body: 'b-n2', data: { a: 1 }, createdAt: 2, read: false },
    ]);
    expect(await inbox.find('u', [])).toEqual([]);
  });

  it('hides expired notifications and purges them', async () => {
    const { inbox } = get();
    const now = Date.now();
    await inbox.insertMany([
      note('old', 1, { expireAt: now - 1000 }),
      note('live', 2, { expireAt: now + 60_000 }),
    ]);
    expect((await inbox.unread('u', 10)).unread.map((n) => n.id)).toEqual(['live']);
    expect(await inbox.purgeExpired()).toBe(1);
    expect(await inbox.purgeExpired()).toBe(0);
  });

  it('claims an idempotency key once; the first answer is returned until it expires', async () => {
    const { idempotency } = get();
    expect(await idempotency.claimKey('k', { id: 'first', recipients: 2 }, 60_000)).toBeNull();
    expect(await idempotency.claimKey('k', { id: 'second', recipients: 5 }, 60_000)).toEqual({
      id: 'first',
      recipients: 2,
    });
    expect(await idempotency.claimKey('other', 1, 60_000)).toBeNull();
    expect(await idempotency.claimKey('short', 'a', 1)).toBeNull();
    await sleep(20);
    expect(await idempotency.claimKey('short', 'b', 60_000)).toBeNull();
    expect(await idempotency.claimKey('short', 'c', 60_000)).toBe('b');
  });

  it('claims many keys in one call: new ones won, taken ones answer the first value', async () => {
    const { idempotency } = get();
    expect(await idempotency.claimKey('a', 'first-a', 60_000)).toBeNull();
    const claims = [
      { key: 'a', value: 'second-a' },
      { key: 'b', value: 'first-b' },
      { key: 'c', value: 'first-c' },
      { key: 'b', value: 'second-b' },
    ];
    expect(await idempotency.claimMany(claims, 60_000)).toEqual(['first-a', null, null, 'first-b']);
    expect(await idempotency.claimMany([{ key: 'c', value: 'x' }], 60_000)).toEqual(['first-c']);
    expect(await idempotency.claimMany([], 60_000)).toEqual([]);
    expect(await idempotency.claimMany([{ key: 'short', value: 1 }], 1)).toEqual([null]);
    await sleep(20);
    expect(await idempotency.claimMany([{ key: 'short', value: 2 }], 60_000)).toEqual([null]);
    expect(await idempotency.claimKey('short', 3, 60_000)).toBe(2);
  });

  it('lets exactly one of many concurrent claims of a key win', async () => {
    const { idempotency } = get();
    const results = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => idempotency.claimKey('race', i, 60_000)),
      ...Array.from({ length: 4 }, (_, i) => idempotency.claimMany([{ key: 'race', value: 10 + i }], 60_000)),
    ]);
    const flat = results.flat();
    const winners = flat.filter((r) => r === null);
    expect(winners).toHaveLength(1);
    const winner = [0, 1, 2, 3, 10, 11, 12, 13].find((_, i) => flat[i] === null);
    expect(flat.filter((r) => r !== null)).toEqual(Array(7).fill(winner));
  });

  it('marks keys once: true only for the call that inserted each, also among concurrent calls', async () => {
    const { idempotency } = get();
    expect(await idempotency.markOnce(['m1', 'm2'], 60_000)).toEqual([true, true]);
    expect(await idempotency.markOnce(['m2', 'm3', 'm1', 'm3'], 60_000)).toEqual([false, true, false, false]);
    expect(await idempotency.markOnce([], 60_000)).toEqual([]);
    const racing = await Promise.all(Array.from({ length: 6 }, () => idempotency.markOnce(['race'], 60_000)));
    expect(racing.flat().filter(Boolean)).toHaveLength(1);
  });
}
