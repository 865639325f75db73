import { describe, expect, it } from 'vitest';
import { CopyGuard, type CopyProbe } from './bus.nats.guard.ts';
import { isBusError } from './bus.ts';

/** A probe whose copied position the test moves; counts reads. */
function fakeProbe(start: number) {
  const p: { at: number; reads: number; probe: CopyProbe } = {
    at: start,
    reads: 0,
    probe: {
      copied: async () => {
        p.reads++;
        return p.at;
      },
      resync: async () => p.at,
    },
  };
  return p;
}

const flush = () => new Promise((r) => setTimeout(r, 20));

describe('CopyGuard', () => {
  it('admits at once while stored + in flight stays within the limit of the copied position', () => {
    const p = fakeProbe(100);
    const g = new CopyGuard(4, 1000, p.probe, () => {}, 100);
    expect([g.admit(), g.admit(), g.admit(), g.admit()]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const fifth = g.admit();
    expect(fifth).toBeInstanceOf(Promise);
    fifth?.catch(() => {});
    g.close();
  });

  it('holds appends back in order until the copy catches up', async () => {
    const p = fakeProbe(100);
    const g = new CopyGuard(2, 5000, p.probe, () => {}, 100);
    const order: number[] = [];
    expect(g.admit()).toBeUndefined();
    expect(g.admit()).toBeUndefined();
    const waiting = [1, 2, 3].map((i) => g.admit()?.then(() => order.push(i)));
    g.done(101);
    g.done(102);
    await flush();
    // Stored 102, nothing copied beyond 100: the limit of 2 is reached, all three wait.
    expect(order).toEqual([]);
    expect(p.reads).toBeGreaterThan(0);
    p.at = 101;
    await flush();
    expect(order).toEqual([1]);
    g.done(103);
    p.at = 103;
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
    expect(g.counts.waited).toBe(3);
  });

  it("refuses an append 'unavailable', naming the cause and the fix, once it waited the timeout", async () => {
    const p = fakeProbe(0);
    const g = new CopyGuard(1, 50, p.probe, () => {}, 0);
    expect(g.admit()).toBeUndefined();
    g.done(1);
    const e = await g.admit()?.catch((err: unknown) => err);
    expect(isBusError(e, 'unavailable')).toBe(true);
    expect(String(e)).toContain('CHAT_WINDOW_MESSAGES');
    expect(g.counts.refused).toBe(1);
  });

  it('reads ahead past half the limit, so a steady stream need not wait', async () => {
    const p = fakeProbe(0);
    const g = new CopyGuard(10, 1000, p.probe, () => {}, 0);
    for (let seq = 1; seq <= 5; seq++) {
      expect(g.admit()).toBeUndefined();
      g.done(seq);
    }
    expect(p.reads).toBe(0);
    p.at = 5;
    expect(g.admit()).toBeUndefined();
    await flush();
    expect(p.reads).toBe(1);
    g.done(6);
    for (let seq = 7; seq <= 14; seq++) {
      expect(g.admit()).toBeUndefined();
      g.done(seq);
    }
  });

  it("never has more than `limit` appends in flight when other processes' appends moved the copy past its own", async () => {
    const p = fakeProbe(0);
    const g = new CopyGuard(3, 1000, p.probe, () => {}, 0);
    expect(g.admit()).toBeUndefined();
    g.done(1);
    // Others appended up to seq 50 and all of it was copied; this process still knows only seq 1.
    p.at = 50;
    await Promise.all([g.admit(), g.admit(), g.admit()]);
    let fourthIn = false;
    void g.admit()?.then(() => {
      fourthIn = true;
    });
    await flush();
    expect(fourthIn, 'a fourth append in flight beside three').toBe(false);
    g.done(51);
    await flush();
    expect(fourthIn, 'seq 51 stored but not copied: still three').toBe(false);
    p.at = 51;
    await flush();
    expect(fourthIn).toBe(true);
  });

  it('a failed append frees its slot; a duplicate (an older seq) does not move the position back', async () => {
    const p = fakeProbe(10);
    const g = new CopyGuard(2, 1000, p.probe, () => {}, 10);
    expect(g.admit()).toBeUndefined();
    expect(g.admit()).toBeUndefined();
    g.done();
    g.done(3);
    expect(g.admit()).toBeUndefined();
    expect(g.admit()).toBeUndefined();
  });
});
