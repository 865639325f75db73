/**
 * Typing and status. Typing `on` is throttled per room (the gateway coalesces anyway; this saves
 * frames and rate-limit budget). Idle detection: with status `online`, no activity for `idleAwayMs`
 * sends `away`; the next activity sends `online`. A status the app chose (away, dnd) is left alone.
 * The server starts every connection `online`, so a different status is sent again on reconnect.
 */
import type { Status } from '@parley/protocol';
import type { Connection } from './connection.ts';
import type { Resolved, TimerHandle } from './options.ts';

export class Activity {
  private chosen: Status = 'online';
  private idle = false;
  private lastActive: number;
  private idleTimer: TimerHandle | undefined;
  /** Rooms where `typing on` was sent, and when. */
  private readonly typingAt = new Map<string, number>();

  constructor(
    private readonly o: Resolved,
    private readonly conn: Connection,
  ) {
    this.lastActive = o.timers.now();
  }

  get status(): Status {
    return this.idle ? 'away' : this.chosen;
  }

  setStatus(status: Status): void {
    this.chosen = status;
    this.idle = false;
    this.conn.send({ type: 'status', status });
    this.armIdle();
  }

  markActive(): void {
    this.lastActive = this.o.timers.now();
    if (!this.idle) return;
    this.idle = false;
    this.conn.send({ type: 'status', status: 'online' });
    this.armIdle();
  }

  typing(room: string, on: boolean): void {
    this.markActive();
    const at = this.typingAt.get(room);
    if (!on) {
      if (at !== undefined && this.conn.send({ type: 'typing', room, on: false })) this.typingAt.delete(room);
      return;
    }
    const now = this.o.timers.now();
    if (at !== undefined && now - at < this.o.typingThrottleMs) return;
    if (this.conn.send({ type: 'typing', room, on: true })) this.typingAt.set(room, now);
  }

  onOpen(): void {
    this.typingAt.clear();
    if (this.status !== 'online') this.conn.send({ type: 'status', status: this.status });
    this.armIdle();
  }

  onClosed(): void {
    this.o.timers.clearTimeout(this.idleTimer);
  }

  /** One timer at a time; activity only moves `lastActive`, and the timer re-arms for the remainder. */
  private armIdle(): void {
    this.o.timers.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.o.idleAwayMs === 0 || this.chosen !== 'online' || this.idle) return;
    const due = this.lastActive + this.o.idleAwayMs - this.o.timers.now();
    this.idleTimer = this.o.timers.setTimeout(
      () => {
        if (this.o.timers.now() - this.lastActive < this.o.idleAwayMs) return this.armIdle();
        this.idle = true;
        this.conn.send({ type: 'status', status: 'away' });
      },
      Math.max(0, due),
    );
  }
}
