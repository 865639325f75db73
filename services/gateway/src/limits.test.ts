import { describe, expect, it } from 'vitest';
import { Strikes, TokenBucket } from './limits.ts';

describe('TokenBucket', () => {
  it('allows the burst, then refills at the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true); // one token after 100 ms at 10/s
    expect(b.take(100)).toBe(false);
  });

  it('never holds more than the burst', () => {
    const b = new TokenBucket(100, 2, 0);
    b.take(0);
    let ok = 0;
    for (let i = 0; i < 5; i++) if (b.take(60_000)) ok++;
    expect(ok).toBe(2);
  });
});

describe('Strikes', () => {
  it('trips only when violations exceed the max within the window', () => {
    const s = new Strikes(2, 1000);
    expect([s.strike(0), s.strike(10), s.strike(20)]).toEqual([false, false, true]);
    expect(s.strike(2000)).toBe(false); // new window
  });
});
