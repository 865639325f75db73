/**
 * A durable pull consumer on stream CHAT_LOG (interest retention, sources CHAT; see
 * ensureChatLogStream in bus.nats.streams.ts), driven by raw pull requests so that batching, order and
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
 * CHAT_LOG keeps a message until every durable acked it (up to its max_age, 7 days by default), so
 * a lag longer than a room's window in CHAT loses nothing (like the memory driver). Records carry
 * the CHAT seq (from the `Nats-Stream-Source` header), not CHAT_LOG's; sourcing keeps CHAT's order.
 * Each batch goes through a SourceGapDetector first (bus.nats.gap.ts): messages CHAT evicted before
 * CHAT_LOG copied them are reported to `onSourceGap`, never skipped silently.
 * A durable created while
 * others exist starts with what CHAT_LOG still holds for them (the first one: everything, thanks to
 * the hold consumer).
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { createInbox, type Msg, nanos } from '@nats-io/nats-core';
import { fromSubjectToken, STREAM_CHAT, Subjects } from '@parley/protocol';
import { chatLogBase, SourceGapDetector } from './bus.nats.gap.ts';
import {
  ackStreamSeq,
  HOLD_CONSUMER,
  type NatsDeps,
  STREAM_CHAT_LOG,
  sourcedSeq,
  toBusError,
  wakeableSleep,
  withTimeout,
} from './bus.nats.util.ts';
import { BusError, type ChatConsumer, type ChatRecord, type SourceGap } from './bus.ts';

const EXPIRES_MS = 5_000;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2_000;
const ACK = new TextEncoder().encode('+ACK');
const NAK = new TextEncoder().encode('-NAK');
const WORKING = new TextEncoder().encode('+WPI');
const SOURCE_HEADER = 'Nats-Stream-Source';
const IN_PREFIX_LEN = Subjects.chatInAll.length - 1;

/** The room of a `chat.in.<token>` subject. */
export function roomOfSubject(subject: string): string {
  return fromSubjectToken(subject.slice(IN_PREFIX_LEN));
}

export class PullConsumer implements ChatConsumer {
  private stopped = false;
  private ready = false;
  private warnedLegacy = false;
  private gaps = new SourceGapDetector();
  /** Ends the outstanding pull or back-off early (stop). */
  private interrupt: (() => void) | undefined;
  private readonly done: Promise<void>;
  private readonly next: string;

  constructor(
    private readonly d: NatsDeps,
    private readonly durable: string,
    private readonly handler: (batch: ChatRecord[]) => Promise<void>,
    private readonly batch: number,
    private readonly onSourceGap: (gap: SourceGap) => void = () => {},
  ) {
    this.next = `$JS.API.CONSUMER.MSG.NEXT.${STREAM_CHAT_LOG}.${durable}`;
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt?.();
    await this.done;
  }

  async pending(): Promise<number> {
    try {
      const ci = await this.d.jsm.consumers.info(STREAM_CHAT_LOG, this.durable);
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

  /**
   * Creates the durable (idempotent for an identical config; an existing one is used as it is, with
   * its ack_wait brought to the configured one), then drops the hold consumer: this durable now
   * keeps CHAT_LOG's messages.
   */
  private async ensure(): Promise<void> {
    const jsm = this.d.jsm;
    const ackWait = nanos(this.d.ackWaitMs);
    const config = {
      durable_name: this.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: Subjects.chatInAll,
      ack_wait: ackWait,
      max_ack_pending: Math.max(1000, this.batch * 2),
    };
    try {
      await jsm.consumers.add(STREAM_CHAT_LOG, config);
    } catch (e) {
      const ci = await jsm.consumers.info(STREAM_CHAT_LOG, this.durable).catch(() => Promise.reject(e));
      if (ci.config.ack_wait !== ackWait)
        await jsm.consumers.update(STREAM_CHAT_LOG, this.durable, { ack_wait: ackWait });
    }
    // CHAT_LOG may be new (recreated with CHAT): its base is read again.
    this.gaps = new SourceGapDetector(chatLogBase(await jsm.streams.info(STREAM_CHAT_LOG)));
    await jsm.consumers.delete(STREAM_CHAT_LOG, HOLD_CONSUMER).catch((e: unknown) => {
      if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound)) throw e;
    });
    if (!this.warnedLegacy) {
      this.warnedLegacy = true;
      const legacy = await jsm.consumers.info(STREAM_CHAT, this.durable).catch(() => null);
      if (legacy)
        this.d.log('warn', 'a durable of the same name on stream CHAT is no longer used', {
          durable: this.durable,
          fix: `delete it once no older bridge runs: nats consumer rm ${STREAM_CHAT} ${this.durable}`,
        });
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
    const seqs: { logSeq: number; chatSeq: number }[] = [];
    const records: ChatRecord[] = msgs.map((m) => {
      const seq = sourcedSeq(m.headers?.get(SOURCE_HEADER), STREAM_CHAT);
      // Cannot happen (CHAT_LOG has no subjects of its own): stall loudly rather than forward a
      // record under a wrong identity or drop it.
      if (seq === 0)
        throw new BusError(
          'unavailable',
          `CHAT_LOG seq ${ackStreamSeq(m.reply)}: no ${SOURCE_HEADER} from CHAT`,
        );
      seqs.push({ logSeq: ackStreamSeq(m.reply), chatSeq: seq });
      return { room: roomOfSubject(m.subject), seq, data: m.string() };
    });
    const gap = this.gaps.observe(seqs);
    if (gap) this.onSourceGap(gap);
    const keep = setInterval(() => {
      for (const m of msgs) m.respond(WORKING);
    }, this.d.ackWaitMs / 3);
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
