/**
 * Turns the history feed's one loss into backpressure. Stream CHAT_LOG copies stream CHAT
 * asynchronously; CHAT keeps W messages per room (CHAT_WINDOW_MESSAGES). A message is lost to
 * history if W more messages of its room are stored before it was copied, so only if more than W
 * messages of the whole stream are uncopied at once (a room's are among the stream's). Each
 * appending process admits an append only while
 *
 *     max(0, highest CHAT seq it knows stored - CHAT seq known copied) + its appends in flight + 1  <=  limit
 *
 * `copied` is a lower bound read from CHAT_LOG (never ahead of the copy), and this process's
 * messages above it are either acked (seq at most `stored`) or in flight, so at no time does one
 * process have more than `limit` messages uncopied. With N processes at most N x limit are: a
 * guarantee while N x limit <= W (default limit W/2: two gateways; CHAT_FEED_MAX_UNCOPIED for
 * more). A message that does not fit waits, in order, while the copy catches up; past the append
 * timeout it is refused 'unavailable' (not stored, so the client retries with the same
 * clientMsgId). Probes run only past half the limit (read ahead) and while appends wait, so a
 * steady stream costs about one probe per limit/2 appends, and nothing when idle.
 */

import type { BusLog } from './bus.nats.util.ts';
import { BusError } from './bus.ts';

/** What the guard reads from the server (NATS: ChatLogPosition in bus.nats.copied.ts). */
export interface CopyProbe {
  /** A CHAT seq up to which CHAT_LOG has copied every message (a lower bound). */
  copied(): Promise<number>;
  /**
   * Re-learns the position when CHAT_LOG is idle and empty; called after a long wait without
   * progress (see chatLogProbe). Resolves with the new copied seq, or undefined if not idle.
   */
  resync(): Promise<number | undefined>;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  deadline: number;
}

/** Pause between probes while appends wait (a probe is one request, two when CHAT_LOG is empty). */
const PROBE_PAUSE_MS = 2;
/** A wait this long without progress asks the probe to resync. */
const RESYNC_AFTER_MS = 1_000;

export class CopyGuard {
  private stored: number;
  private copied: number;
  private inflight = 0;
  private readonly waiting: Waiter[] = [];
  private probing = false;
  private failing = false;
  private progressAt = Date.now();
  /** Appends that had to wait, and probes run (for tests and the bench). */
  readonly counts = { waited: 0, refused: 0, probes: 0 };

  constructor(
    private readonly limit: number,
    private readonly timeoutMs: number,
    private readonly probe: CopyProbe,
    private readonly log: BusLog,
    /** CHAT's last seq at start: assumed copied until a probe says otherwise. */
    start: number,
  ) {
    this.stored = start;
    this.copied = start;
  }

  /** A new incarnation of CHAT (seqs restart): positions start again at its last seq. */
  reset(start: number): void {
    this.stored = start;
    this.copied = start;
  }

  /**
   * Takes a slot for one append: undefined when admitted at once (no promise on the fast path),
   * else a promise that resolves when admitted or rejects 'unavailable'. Every admission must be
   * followed by exactly one `done`.
   */
  admit(): Promise<void> | undefined {
    if (this.waiting.length === 0 && this.fits()) {
      this.inflight++;
      // Past half the limit, read ahead so that appends rarely have to wait for a probe.
      if (2 * (this.stored + this.inflight - this.copied) > this.limit) void this.probeLoop();
      return undefined;
    }
    this.counts.waited++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject, deadline: Date.now() + this.timeoutMs });
      void this.probeLoop();
    });
  }

  /** The admitted append settled: stored with `seq`, or failed (undefined). */
  done(seq?: number): void {
    this.inflight--;
    if (seq !== undefined && seq > this.stored) this.stored = seq;
    this.release();
  }

  /** Fails every waiting append (the connection is closing). */
  close(): void {
    for (const w of this.waiting.splice(0)) w.reject(new BusError('closed', 'append: connection closed'));
  }

  private fits(): boolean {
    return this.stored + this.inflight + 1 - this.copied <= this.limit;
  }

  private release(): void {
    while (this.waiting.length > 0 && this.fits()) {
      this.inflight++;
      this.waiting.shift()?.resolve();
    }
  }

  /** One probe, then more while appends wait; one loop at a time. */
  private async probeLoop(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    this.progressAt = Date.now();
    try {
      for (;;) {
        await this.probeOnce();
        this.release();
        this.expire();
        if (this.waiting.length === 0) break;
        await new Promise((r) => setTimeout(r, PROBE_PAUSE_MS));
      }
    } finally {
      this.probing = false;
    }
  }

  private async probeOnce(): Promise<void> {
    this.counts.probes++;
    try {
      const stalled = Date.now() - this.progressAt >= RESYNC_AFTER_MS;
      const copied = stalled ? await this.probe.resync() : await this.probe.copied();
      if (copied !== undefined && copied > this.copied) {
        this.copied = copied;
        // Other processes' messages moved the copy past this one's last: with `stored` left
        // behind, the difference would let more than `limit` of this process's appends in flight.
        if (this.stored < copied) this.stored = copied;
        this.progressAt = Date.now();
      } else if (stalled) {
        this.progressAt = Date.now();
      }
      this.failing = false;
    } catch (e) {
      // Once per streak: during a NATS outage this fails every 50 ms while appends wait.
      if (!this.failing)
        this.log('warn', 'append guard: reading stream CHAT_LOG failed; appends wait', { err: String(e) });
      this.failing = true;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private expire(): void {
    const now = Date.now();
    const behind = this.stored + this.inflight - this.copied;
    while (this.waiting.length > 0 && (this.waiting[0]?.deadline ?? now) <= now) {
      this.counts.refused++;
      this.waiting
        .shift()
        ?.reject(
          new BusError(
            'unavailable',
            `append: stream CHAT_LOG (the history feed) has not copied ${behind} messages of stream CHAT yet, ` +
              `the most this process lets wait is ${this.limit} (CHAT_FEED_MAX_UNCOPIED, default half of ` +
              'CHAT_WINDOW_MESSAGES) so that none is evicted before it reaches history; retry, and if it ' +
              "persists raise CHAT_WINDOW_MESSAGES or check CHAT_LOG's source (nats stream info CHAT_LOG)",
          ),
        );
    }
  }
}
