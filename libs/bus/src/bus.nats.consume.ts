/**
 * A durable pull consumer on stream CHAT, driven by raw pull requests so that batching, order and
 * redelivery are explicit:
 * - one pull at a time, `{batch, no_wait, expires}`: the server returns what is available at once,
 *   or waits up to `expires` for the first message (low latency when idle, full batches under load);
 * - the batch is acked only after the handler resolves (at least once); the acks are flushed so a
 *   stopped consumer's successor resumes exactly from the ack floor;
 * - on rejection every message of the batch is nak'ed in seq order and nothing is pulled during the
 *   back-off, so the redelivery comes first on the next pull and stream order is kept;
 * - a long handler keeps the batch with progress acks, so ack_wait does not redeliver it meanwhile;
 * - across reconnects the loop waits for the connection and re-creates the consumer if it is gone.
 *
 * Limit (unlike the memory driver): CHAT has limits retention, so a consumer that lags more than a
 * room's window (max_msgs_per_subject, max_age) behind never sees the evicted messages. The bridge
 * must keep its lag (pending()) well below the window; an interest-retention stream sourced from
 * CHAT would remove this limit.
 */
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { createInbox, type Msg, nanos } from '@nats-io/nats-core';
import { fromSubjectToken, STREAM_CHAT, Subjects } from '@parley/protocol';
import { ackStreamSeq, type NatsDeps, toBusError, wakeableSleep, withTimeout } from './bus.nats.util.ts';
import { BusError, type ChatConsumer, type ChatRecord } from './bus.ts';

const EXPIRES_MS = 5_000;
const ACK_WAIT_MS = 30_000;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2_000;
const ACK = new TextEncoder().encode('+ACK');
const NAK = new TextEncoder().encode('-NAK');
const WORKING = new TextEncoder().encode('+WPI');
const IN_PREFIX_LEN = Subjects.chatInAll.length - 1;

/** The room of a `chat.in.<token>` subject. */
export function roomOfSubject(subject: string): string {
  return fromSubjectToken(subject.slice(IN_PREFIX_LEN));
}

export class PullConsumer implements ChatConsumer {
  private stopped = false;
  private ready = false;
  /** Ends the outstanding pull or back-off early (stop). */
  private interrupt: (() => void) | undefined;
  private readonly done: Promise<void>;
  private readonly next: string;

  constructor(
    private readonly d: NatsDeps,
    private readonly durable: string,
    private readonly handler: (batch: ChatRecord[]) => Promise<void>,
    private readonly batch: number,
  ) {
    this.next = `$JS.API.CONSUMER.MSG.NEXT.${STREAM_CHAT}.${durable}`;
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt?.();
    await this.done;
  }

  async pending(): Promise<number> {
    try {
      const ci = await this.d.jsm.consumers.info(STREAM_CHAT, this.durable);
      return ci.num_pending + ci.num_ack_pending;
    } catch (e) {
      throw toBusError(e, `pending ${this.durable}`);
    }
  }

  private async run(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.stopped && !this.d.nc.isClosed()) {
      try {
        await this.d.whenConnected();
        if (!this.ready) await this.ensure();
        const msgs = await this.pull();
        if (msgs.length > 0) await this.deliver(msgs);
        backoff = BACKOFF_MIN_MS;
      } catch (e) {
        if (this.stopped || this.d.nc.isClosed()) break;
        this.d.log('warn', 'chat consumer retrying', {
          durable: this.durable,
          backoffMs: backoff,
          err: String(e),
        });
        const nap = wakeableSleep(backoff);
        this.interrupt = nap.wake;
        await nap.done;
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  }

  /** Creates the durable (idempotent for an identical config; an existing one is used as it is). */
  private async ensure(): Promise<void> {
    const config = {
      durable_name: this.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: Subjects.chatInAll,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: Math.max(1000, this.batch * 2),
    };
    try {
      await this.d.jsm.consumers.add(STREAM_CHAT, config);
    } catch (e) {
      await this.d.jsm.consumers.info(STREAM_CHAT, this.durable).catch(() => Promise.reject(e));
    }
    this.ready = true;
  }

  /** One pull request; resolves with the delivered messages (possibly none). */
  private pull(): Promise<Msg[]> {
    return new Promise((resolve, reject) => {
      const got: Msg[] = [];
      const inbox = createInbox();
      const end = (err?: Error) => {
        clearTimeout(timer);
        sub.unsubscribe();
        this.interrupt = undefined;
        // Messages already received are processed even when the request failed afterwards.
        if (err && got.length === 0) reject(err);
        else resolve(got);
      };
      const sub = this.d.nc.subscribe(inbox, {
        callback: (err, m) => {
          if (err) return end(err);
          const code = m.headers?.code ?? 0;
          if (code === 404 || code === 408) return end();
          if (code !== 0) {
            // 503: the consumer (or JetStream) is gone; 409: deleted, leadership change, limits.
            this.ready = false;
            return end(
              new BusError('unavailable', `pull ${this.durable}: ${code} ${m.headers?.description ?? ''}`),
            );
          }
          got.push(m);
          if (got.length >= this.batch) end();
        },
      });
      // The server ends the request itself; this only catches a request lost with the connection.
      const timer = setTimeout(end, EXPIRES_MS + 2_000);
      this.interrupt = end;
      const req = { batch: this.batch, no_wait: true, expires: nanos(EXPIRES_MS) };
      this.d.nc.publish(this.next, JSON.stringify(req), { reply: inbox });
    });
  }

  private async deliver(msgs: Msg[]): Promise<void> {
    const records: ChatRecord[] = msgs.map((m) => ({
      room: roomOfSubject(m.subject),
      seq: ackStreamSeq(m.reply),
      data: m.string(),
    }));
    const keep = setInterval(() => {
      for (const m of msgs) m.respond(WORKING);
    }, ACK_WAIT_MS / 3);
    try {
      await this.handler(records);
    } catch (e) {
      for (const m of msgs) m.respond(NAK);
      throw e;
    } finally {
      clearInterval(keep);
    }
    for (const m of msgs) m.respond(ACK);
    await withTimeout(this.d.nc.flush(), EXPIRES_MS, 'timeout', 'ack flush').catch((e) =>
      // The acks may be lost with the connection: the batch is then redelivered (at least once).
      this.d.log('warn', 'chat consumer acks not confirmed', { durable: this.durable, err: String(e) }),
    );
  }
}
