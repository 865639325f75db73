/**
 * Unacked publishes. Guarantees:
 * - each entry keeps one clientMsgId for its whole life, so a resend after a lost ack is taken by
 *   the server as a duplicate (same seq) and the message is stored and delivered once;
 * - entries are sent in publish order, only to rooms live on the current connection, paced by the
 *   publish limits from `welcome` so a resend burst does not earn rate-limit strikes;
 * - each promise settles exactly once: the ack, a permanent refusal, its deadline, or close().
 */
import type { Body, Limits } from '@parley/protocol';
import { Bucket } from './bucket.ts';
import type { Connection, Reply } from './connection.ts';
import { DisconnectedError, OutboxFullError, ParleyError, TimeoutError } from './errors.ts';
import type { Resolved, TimerHandle } from './options.ts';
import { backoffDelay } from './reconnect.ts';

export interface PublishAck {
  seq: number;
  msgId: string;
  /** True when the server had already stored this clientMsgId (a resend whose first ack was lost). */
  duplicate: boolean;
}

interface Entry {
  readonly room: string;
  readonly body: Body;
  readonly clientMsgId: string;
  resolve(ack: PublishAck): void;
  reject(e: Error): void;
  deadline: TimerHandle;
  sending: boolean;
  /** Earliest resend after a retryable refusal (rate_limited, unavailable). */
  notBefore: number;
  failures: number;
}

export class Outbox {
  private readonly entries: Entry[] = [];
  private readonly bucket: Bucket;
  private wake: TimerHandle | undefined;

  constructor(
    private readonly o: Resolved,
    private readonly conn: Connection,
    private readonly isLive: (room: string) => boolean,
  ) {
    this.bucket = new Bucket(10, 20, o.timers.now);
  }

  get size(): number {
    return this.entries.length;
  }

  add(room: string, body: Body, clientMsgId: string, timeoutMs: number): Promise<PublishAck> {
    if (this.entries.length >= this.o.outboxLimit) {
      return Promise.reject(new OutboxFullError(`outbox holds ${this.o.outboxLimit} unacked messages`));
    }
    return new Promise((resolve, reject) => {
      const e: Entry = {
        room,
        body,
        clientMsgId,
        resolve,
        reject,
        deadline: undefined,
        sending: false,
        notBefore: 0,
        failures: 0,
      };
      e.deadline = this.o.timers.setTimeout(
        () =>
          this.settle(
            e,
            new TimeoutError(`no ack for ${clientMsgId} within ${timeoutMs} ms; it may still be stored`),
          ),
        timeoutMs,
      );
      this.entries.push(e);
      this.flush();
    });
  }

  onOpen(limits: Limits): void {
    this.bucket.reset(limits.publishPerSecond, limits.publishBurst);
  }

  /** Fails every entry of a room the app left. */
  dropRoom(room: string): void {
    for (const e of this.entries.filter((x) => x.room === room))
      this.settle(e, new ParleyError(`left ${room}`));
  }

  onClosed(error: Error): void {
    for (const e of [...this.entries]) this.settle(e, error);
    this.o.timers.clearTimeout(this.wake);
  }

  /** Sends what may be sent now, in order; sets one timer for the earliest entry held back. */
  flush(): void {
    this.o.timers.clearTimeout(this.wake);
    this.wake = undefined;
    if (this.conn.state !== 'open') return;
    const now = this.o.timers.now();
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.entries) {
      if (e.sending || !this.isLive(e.room)) continue;
      if (e.notBefore > now) {
        next = Math.min(next, e.notBefore);
        continue;
      }
      const wait = this.bucket.take();
      if (wait > 0) {
        next = Math.min(next, now + wait);
        break;
      }
      this.send(e);
    }
    if (next !== Number.POSITIVE_INFINITY)
      this.wake = this.o.timers.setTimeout(() => this.flush(), next - now);
  }

  private send(e: Entry): void {
    const frame = { type: 'publish' as const, room: e.room, body: e.body, clientMsgId: e.clientMsgId };
    e.sending = this.conn.call(frame, (r) => this.onReply(e, r)) !== undefined;
  }

  private onReply(e: Entry, r: Reply): void {
    e.sending = false;
    if (!this.entries.includes(e)) return;
    if (r instanceof DisconnectedError) return; // resent when the room is live again
    if (r instanceof Error) {
      if (!(r instanceof ParleyError && r.retryable)) return this.settle(e, r);
      e.notBefore = this.o.timers.now() + backoffDelay(e.failures++, this.o.backoff, this.o.random);
      return this.flush();
    }
    if (r.type !== 'ack') return this.settle(e, new ParleyError(`unexpected ${r.type} reply to publish`));
    this.settle(e, undefined, { seq: r.seq, msgId: r.msgId, duplicate: r.duplicate });
  }

  private settle(e: Entry, error: Error | undefined, ack?: PublishAck): void {
    const i = this.entries.indexOf(e);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.o.timers.clearTimeout(e.deadline);
    if (error) e.reject(error);
    else if (ack) e.resolve(ack);
  }
}
