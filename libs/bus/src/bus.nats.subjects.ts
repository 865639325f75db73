/**
 * SubjectRefs on NATS. nats.js gives every subscription a SubscriptionImpl: an async-iterator queue
 * with three deferred promises (each a Promise with two resolver closures), a yields array, plus
 * the caller's closure: ~1.5 KiB of heap. A gateway holding one `user.<id>` subscription per
 * connected user paid more for that than uWS pays for the socket. Here a subject is one small
 * record that nats.js's protocol handler takes as a subscription: it reads `sid`, `subject`,
 * `queue`, `received` and `max`, and calls `callback`, `close`, `unsubscribe` and `drain`. The wire
 * is unchanged (one SUB per subject, UNSUB on the last release, every subject re-sent on
 * reconnect), and one handler serves them all.
 *
 * SUBs and UNSUBs go out once per event-loop turn (setImmediate), together: nats.js writes to its
 * socket once per microtask checkpoint and uWS runs one after every callback, so a burst of
 * connects cost one socket write each (~50 µs of CPU on a busy box, more than the rest of the
 * subscription). A released subject stops reaching the handler at once; `sendPending()` (called
 * by the bus's flush) sends what is queued.
 *
 * This relies on nats-core's internal entry point (`@nats-io/nats-core/internal`, the one
 * @nats-io/jetstream builds on), pinned to an exact version in package.json;
 * test/bus.nats.subjects.int.test.ts covers what is relied on (delivery, UNSUB, reconnect, drain).
 */
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import type { NatsConnectionImpl, ProtocolHandler, SubscriptionImpl } from '@nats-io/nats-core/internal';
import type { BusLog } from './bus.nats.util.ts';
import { BusError, type BusMsg, type SubjectRefs } from './bus.ts';

/** One subject, in the shape nats.js's ProtocolHandler expects of a subscription (no queue group). */
class Entry<K> {
  /** Assigned by the protocol handler. */
  sid = 0;
  /** Counted by the protocol handler. */
  received = 0;
  /** Set by the protocol handler on UNSUB (auto-unsubscribe limit); never used here. */
  max: number | undefined = undefined;
  /** 0 once released: messages are dropped until the UNSUB has gone out. */
  refs = 1;

  constructor(
    readonly subject: string,
    readonly key: K,
    private readonly owner: NatsSubjectRefs<K>,
  ) {}

  callback(err: Error | null, msg: Msg): void {
    this.owner.dispatch(this, err, msg);
  }

  /** Called by the protocol handler when the subscription ends (cancel, connection closed, permission error). */
  close(): void {
    this.owner.forget(this);
  }

  unsubscribe(): void {
    this.owner.end(this);
  }

  /** Connection drain: UNSUB now, and end once the server has seen every UNSUB. */
  drain(): Promise<void> {
    return this.owner.drainOne(this);
  }
}

export class NatsSubjectRefs<K> implements SubjectRefs<K> {
  private readonly entries = new Map<string, Entry<K>>();
  private readonly protocol: ProtocolHandler;
  private drained?: Promise<void>;
  /** Acquired or released since the last sendPending. */
  private pending: Entry<K>[] = [];
  private scheduled = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly handler: (key: K, msg: BusMsg) => void,
    private readonly log: BusLog,
  ) {
    this.protocol = (nc as NatsConnectionImpl).protocol;
    // Registered subjects are closed by the protocol handler; queued ones are dropped here.
    void nc.closed().then(() => {
      this.pending = [];
      this.entries.clear();
    });
  }

  get size(): number {
    return this.entries.size;
  }

  acquire(subject: string, key: K): boolean {
    const held = this.entries.get(subject);
    if (held) {
      held.refs++;
      return false;
    }
    if (this.nc.isClosed() || this.nc.isDraining()) throw new BusError('closed', 'bus connection is closed');
    // A SUB line is split on whitespace: such a subject would corrupt the protocol stream.
    if (subject === '' || /\s/.test(subject))
      throw new TypeError(`invalid subject ${JSON.stringify(subject)}`);
    const e = new Entry(subject, key, this);
    this.entries.set(subject, e);
    this.queue(e);
    return true;
  }

  release(subject: string): boolean {
    const e = this.entries.get(subject);
    if (!e || --e.refs > 0) return false;
    this.end(e);
    return true;
  }

  clear(): void {
    for (const e of [...this.entries.values()]) this.end(e);
    this.sendPending();
  }

  /** Ends a subject now; its UNSUB goes out with the turn's batch. */
  end(e: Entry<K>): void {
    e.refs = 0;
    this.forget(e);
    this.queue(e);
  }

  /** Sends the queued SUBs and UNSUBs; in one turn, so nats.js writes them together. */
  sendPending(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (this.nc.isClosed()) return;
    for (const e of batch) {
      const s = e as unknown as SubscriptionImpl;
      // A subject acquired and released within the turn sends nothing; one queued twice, once.
      if (e.refs > 0 && e.sid === 0 && this.entries.get(e.subject) === e) this.protocol.subscribe(s);
      else if (e.refs === 0 && e.sid !== 0 && this.protocol.subscriptions.get(e.sid) === s)
        this.protocol.unsubscribe(s);
    }
  }

  private queue(e: Entry<K>): void {
    this.pending.push(e);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.sendPending());
  }

  dispatch(e: Entry<K>, err: Error | null, msg: Msg): void {
    if (e.refs === 0) return;
    if (err) {
      this.forget(e);
      return this.log('warn', 'subscription error', { subject: e.subject, err: err.message });
    }
    try {
      this.handler(e.key, msg);
    } catch (x) {
      this.log('error', 'subscription handler threw', { subject: e.subject, err: String(x) });
    }
  }

  forget(e: Entry<K>): void {
    if (this.entries.get(e.subject) === e) this.entries.delete(e.subject);
  }

  drainOne(e: Entry<K>): Promise<void> {
    this.protocol.unsub(e as unknown as SubscriptionImpl);
    // One PING for all subjects, sent after the caller (ProtocolHandler.drain) has queued every
    // UNSUB: its PONG proves the server stopped routing all of them, as nats.js's one flush per
    // subscription would.
    this.drained ??= Promise.resolve().then(() => this.protocol.flush());
    const end = () => this.protocol.subscriptions.cancel(e as unknown as SubscriptionImpl);
    return this.drained.then(end, end);
  }
}
