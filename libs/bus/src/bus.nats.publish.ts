/**
 * Pipelined JetStream publishing. nats.js's `js.publish` is a full request per message (its own
 * reply subscription bookkeeping, a timer, and a promise chain): ~100 µs of client CPU, which caps
 * one gateway core at ~10k appends/s. This sends each message with plain `nc.publish` and a reply
 * subject under ONE wildcard subscription, matches PubAcks by reply token, and expires late ones
 * with one sweep timer. Same guarantee: resolves only on the stream's PubAck (the message is
 * stored), with the stream seq and the duplicate flag; anything else rejects 'unavailable', and a
 * retry with the same msgId is deduplicated by the stream.
 */
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { type AppendResult, BusError } from './bus.ts';

interface Pending {
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
  deadline: number;
  what: string;
}

interface PubAck {
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; description?: string };
}

const SWEEP_MS = 100;

export class PipelinedPublisher {
  private readonly prefix: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (_err, msg) => this.settle(msg) });
    this.sweeper = setInterval(() => this.expire(), SWEEP_MS);
    this.sweeper.unref?.();
  }

  publish(subject: string, payload: string, msgId: string): Promise<AppendResult> {
    const token = (++this.next).toString(36);
    const h = headers();
    h.set('Nats-Msg-Id', msgId);
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, deadline: Date.now() + this.timeoutMs, what: subject });
      try {
        this.nc.publish(subject, payload, { reply: this.prefix + token, headers: h });
      } catch (e) {
        this.pending.delete(token);
        reject(new BusError('unavailable', `append to ${subject}: ${(e as Error).message}`, { cause: e }));
      }
    });
  }

  private settle(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const p = this.pending.get(token);
    if (!p) return; // expired already: the caller was told 'unavailable' and retries with the same msgId
    this.pending.delete(token);
    if (msg.headers?.hasError) {
      // 503 no responders: the stream is not there (yet), or JetStream is down.
      return p.reject(
        new BusError('unavailable', `append to ${p.what}: ${msg.headers.code} ${msg.headers.description}`),
      );
    }
    let ack: PubAck;
    try {
      ack = msg.json<PubAck>();
    } catch {
      return p.reject(new BusError('unavailable', `append to ${p.what}: unreadable PubAck`));
    }
    if (ack.error || typeof ack.seq !== 'number') {
      return p.reject(
        new BusError('unavailable', `append to ${p.what}: ${ack.error?.description ?? 'no seq in PubAck'}`),
      );
    }
    p.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
  }

  private expire(): void {
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(token);
      p.reject(new BusError('unavailable', `append to ${p.what}: no PubAck within ${this.timeoutMs} ms`));
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const p of this.pending.values())
      p.reject(new BusError('closed', `append to ${p.what}: connection closed`));
    this.pending.clear();
  }
}
