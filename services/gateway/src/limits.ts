/**
 * Per-connection token buckets. Kept as two numbers per bucket (tokens, last refill) so an idle
 * connection costs a few bytes; refill is computed lazily on take().
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now = Date.now()): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Counts limit violations in a sliding window; `strike()` says when a connection has crossed from
 * occasional bursts into sustained abuse (close 4008).
 */
export class Strikes {
  private count = 0;
  private windowStart = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  strike(now = Date.now()): boolean {
    if (now - this.windowStart > this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count > this.max;
  }
}
