import { describe, expect, it } from 'vitest';
import { DeadlineError, Limiter } from './limiter.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Limiter', () => {
  it('runs at most max tasks at once, the rest in arrival order', async () => {
    const limiter = new Limiter(2);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const done = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    expect(started).toEqual([0, 1]);
    expect(limiter.waiting).toBe(3);
    gates[1]?.resolve();
    await done[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a queued task whose deadline passed before its turn, without running it', async () => {
    const limiter = new Limiter(1);
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    let ran = false;
    const late = limiter.run(async () => {
      ran = true;
    }, Date.now() + 5);
    const patient = limiter.run(async () => 'ran');
    await new Promise((r) => setTimeout(r, 20));
    gate.resolve();
    await first;
    await expect(late).rejects.toBeInstanceOf(DeadlineError);
    expect(ran).toBe(false);
    expect(await patient).toBe('ran');
  });

  it('frees the slot of a task that failed', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    expect(await limiter.run(async () => 1)).toBe(1);
  });
});
