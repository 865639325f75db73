import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Batcher', () => {
  it('writes one turn’s callers together, at most maxInFlight writes at once, never splitting a caller', async () => {
    const writes: string[][] = [];
    let inFlight = 0;
    let maxSeen = 0;
    const batcher = new Batcher<string, string>(
      async (items) => {
        maxSeen = Math.max(maxSeen, ++inFlight);
        writes.push(items);
        await tick();
        inFlight--;
        return items.map((i) => i.toUpperCase());
      },
      { maxItems: 3, maxInFlight: 2 },
    );
    const results = await Promise.all([
      batcher.submit(['a']),
      batcher.submit(['b', 'c']),
      batcher.submit(['d']),
      batcher.submit(['e', 'f', 'g', 'h']),
      batcher.submit(['i']),
      batcher.submit([]),
    ]);
    expect(writes).toEqual([['a', 'b', 'c'], ['d'], ['e', 'f', 'g', 'h'], ['i']]);
    expect(maxSeen).toBe(2);
    expect(results).toEqual([['A'], ['B', 'C'], ['D'], ['E', 'F', 'G', 'H'], ['I'], []]);
  });

  it('rejects every caller of a failed write and goes on with the next', async () => {
    let calls = 0;
    const batcher = new Batcher<string, never>(
      async () => {
        if (calls++ === 0) throw new Error('store down');
        return [];
      },
      { maxItems: 10, maxInFlight: 1 },
    );
    const failed = await Promise.allSettled([batcher.submit(['a']), batcher.submit(['b'])]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(batcher.submit(['c'])).resolves.toEqual([]);
  });
});
