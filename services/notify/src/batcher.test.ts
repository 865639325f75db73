import type { StoredNotification } from '@parley/store';
import { describe, expect, it } from 'vitest';
import { InboxBatcher } from './batcher.ts';

const row = (id: string): StoredNotification => ({
  id,
  user: 'u',
  title: 't',
  body: 'b',
  createdAt: 1,
  read: false,
});

describe('InboxBatcher', () => {
  it('writes concurrent callers together, one write at a time, never splitting a caller', async () => {
    const writes: string[][] = [];
    let inFlight = 0;
    const batcher = new InboxBatcher(
      {
        insertMany: async (rows) => {
          expect(++inFlight).toBe(1);
          writes.push(rows.map((r) => r.id));
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
        },
      },
      3,
    );
    await Promise.all([
      batcher.insert([row('a')]),
      batcher.insert([row('b'), row('c')]),
      batcher.insert([row('d')]),
      batcher.insert([row('e'), row('f'), row('g'), row('h')]),
      batcher.insert([]),
    ]);
    expect(writes).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f', 'g', 'h']]);
  });

  it('rejects every caller of a failed write and goes on with the next', async () => {
    let calls = 0;
    const batcher = new InboxBatcher(
      {
        insertMany: async () => {
          if (calls++ === 1) throw new Error('store down');
        },
      },
      10,
    );
    const results = await Promise.allSettled([
      batcher.insert([row('a')]),
      batcher.insert([row('b')]),
      batcher.insert([row('c')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await expect(batcher.insert([row('d')])).resolves.toBeUndefined();
  });
});
