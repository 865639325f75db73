/**
 * A token bucket that mirrors a server-side rate limit, so the SDK paces itself (resends after a
 * reconnect, rejoins) instead of collecting `rate_limited` strikes that end in a 4008 close.
 */
export class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private perSecond: number,
    private burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Starts full with new limits (a new connection has a new bucket on the server). */
  reset(perSecond: number, burst: number): void {
    this.perSecond = perSecond;
    this.burst = burst;
    this.tokens = burst;
    this.at = this.now();
  }

  /** Takes a token and returns 0, or returns how many ms until one is available (nothing taken). */
  take(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }
}
