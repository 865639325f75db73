/**
 * ChatLog on JetStream: stream CHAT captures `chat.in.>` and republishes every stored message to
 * `chat.room.>` with `Nats-Sequence` and `Nats-Last-Sequence` (the previous seq of the same subject),
 * which is the per-room prev chain. Window reads use direct get (allow_direct), so they cost no
 * consumer and are served by any replica. Appends pass CopyGuard (bus.nats.guard.ts) so that none
 * is evicted before stream CHAT_LOG (bus.nats.streams.ts) copied it.
 */
import type { StoredMsg, StreamInfo } from '@nats-io/jetstream';
import { STREAM_CHAT, type StoredChat, Subjects } from '@parley/protocol';
import { PullConsumer } from './bus.nats.consume.ts';
import { ChatLogPosition } from './bus.nats.copied.ts';
import { CopyGuard } from './bus.nats.guard.ts';
import { PipelinedPublisher } from './bus.nats.publish.ts';
import { ensureChatStream, epochOf } from './bus.nats.streams.ts';
import { type NatsDeps, toBusError } from './bus.nats.util.ts';
import {
  type AppendResult,
  BusError,
  type ChatConsumer,
  type ChatLog,
  type ChatRecord,
  type SourceGap,
  type Subscription,
  type WindowRead,
} from './bus.ts';

/** Reads of an uncovered window before readAfter gives up (each retry follows a proven eviction). */
const WINDOW_READ_ATTEMPTS = 3;

function chained(room: string, after: number, stored: readonly StoredMsg[]): StoredChat[] {
  let prev = after;
  return stored.map((m): StoredChat => {
    const out = { room, seq: m.seq, prev, data: m.string() };
    prev = m.seq;
    return out;
  });
}

export class NatsChatLog implements ChatLog {
  epoch: string;
  private readonly publisher: PipelinedPublisher;
  private readonly position: ChatLogPosition;
  /** Holds appends back while CHAT_LOG lags (see bus.nats.guard.ts). */
  readonly guard: CopyGuard;

  constructor(
    private readonly d: NatsDeps,
    info: StreamInfo,
  ) {
    this.epoch = epochOf(info);
    this.publisher = new PipelinedPublisher(d.nc, d.appendTimeoutMs);
    this.position = new ChatLogPosition(d.jsm);
    this.guard = new CopyGuard(d.maxUncopied, d.appendTimeoutMs, this.position, d.log, info.state.last_seq);
  }

  /** Fails appends still waiting for a PubAck or for the guard (the connection is closing). */
  close(): void {
    this.guard.close();
    this.publisher.close();
  }

  /** Re-reads the stream after a reconnect: it may have been recreated (new epoch) or lost. */
  async refresh(): Promise<void> {
    const si = await ensureChatStream(
      this.d.jsm,
      this.d.window,
      this.d.replicas,
      this.d.retention,
      this.d.log,
    );
    const epoch = epochOf(si);
    if (epoch !== this.epoch) {
      this.d.log('warn', 'stream CHAT changed incarnation', { from: this.epoch, to: epoch });
      this.guard.reset(si.state.last_seq);
      this.position.reset();
    }
    this.epoch = epoch;
  }

  append(room: string, payload: string, msgId: string): Promise<AppendResult> {
    if (this.d.nc.isClosed()) return Promise.reject(new BusError('closed', 'append: connection closed'));
    // Whatever goes wrong, the message may or may not be stored: the caller must not ack it, and a
    // retry with the same msgId is deduplicated. So every failure is 'unavailable' except close.
    const wait = this.guard.admit();
    if (wait === undefined) return this.send(room, payload, msgId);
    return wait.then(() => this.send(room, payload, msgId));
  }

  private send(room: string, payload: string, msgId: string): Promise<AppendResult> {
    return this.publisher.publish(Subjects.chatIn(room), payload, msgId).then(
      (r) => {
        this.guard.done(r.seq);
        return r;
      },
      (e: unknown) => {
        this.guard.done();
        throw e;
      },
    );
  }

  subscribeRoom(room: string, handler: (m: StoredChat) => void): Subscription {
    const log = this.d.log;
    if (this.d.nc.isClosed()) throw new BusError('closed', 'bus connection is closed');
    const sub = this.d.nc.subscribe(Subjects.chatRoom(room), {
      callback: (err, msg) => {
        if (err) return log('warn', 'room subscription error', { room, err: err.message });
        const h = msg.headers;
        const seq = Number(h?.get('Nats-Sequence'));
        const prev = Number(h?.get('Nats-Last-Sequence'));
        if (!(seq > 0 && prev >= 0))
          return log('warn', 'republished message without sequence headers', { room });
        try {
          handler({ room, seq, prev, data: msg.string() });
        } catch (e) {
          log('error', 'room handler threw', { room, seq, err: String(e) });
        }
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  /**
   * The window is read first and the cursor checked afterwards. Retention drops a room's messages
   * oldest first, so if the cursor message is still stored after the read, every later message of
   * the room was stored throughout the read and none was skipped: `covered` is then proven.
   * Checking first would race with an eviction between the check and the read.
   *
   * When the cursor is gone, the part read must still be gap-free, since history fills only up to
   * its first message: the same proof applied to that first message. A read (one direct get per
   * message, or a batch the server assembles message by message) can otherwise skip a message
   * evicted while it ran, when the room's traffic outpaces the read; it is then read again.
   */
  async readAfter(room: string, after: number, limit: number): Promise<WindowRead> {
    const subject = Subjects.chatIn(room);
    try {
      for (let attempt = 1; ; attempt++) {
        const stored = limit > 0 ? await this.readWindow(subject, after + 1, limit) : [];
        const covered = after > 0 ? await this.holds(after, subject) : await this.neverDropped();
        const first = stored[0];
        if (covered || first === undefined || (await this.holds(first.seq, subject)))
          return { messages: chained(room, after, stored), covered };
        if (attempt === WINDOW_READ_ATTEMPTS) {
          throw new BusError(
            'unavailable',
            `readAfter ${room}: the room's window moved during ${attempt} reads (traffic outpaces the read); retry`,
          );
        }
      }
    } catch (e) {
      throw toBusError(e, `readAfter ${room}`);
    }
  }

  async lastSeq(room: string): Promise<number> {
    try {
      const m = await this.d.jsm.direct.getMessage(STREAM_CHAT, { last_by_subj: Subjects.chatIn(room) });
      return m?.seq ?? 0;
    } catch (e) {
      throw toBusError(e, `lastSeq ${room}`);
    }
  }

  consume(
    durable: string,
    handler: (batch: ChatRecord[]) => Promise<void>,
    opts: { batch?: number; onSourceGap?: (gap: SourceGap) => void } = {},
  ): ChatConsumer {
    return new PullConsumer(this.d, durable, handler, opts.batch ?? 256, opts.onSourceGap);
  }

  private async readWindow(subject: string, from: number, limit: number): Promise<StoredMsg[]> {
    const direct = this.d.jsm.direct;
    const out: StoredMsg[] = [];
    if (this.d.directBatch) {
      const it = await direct.getBatch(STREAM_CHAT, { seq: from, next_by_subj: subject, batch: limit });
      try {
        for await (const m of it) out.push(m);
      } catch (e) {
        // An empty batch ends with status 404 (no message matched), which nats.js raises as an error.
        if ((e as { code?: unknown }).code !== 404) throw e;
      }
      return out;
    }
    for (let seq = from; out.length < limit; ) {
      const m = await direct.getMessage(STREAM_CHAT, { seq, next_by_subj: subject });
      if (!m) break;
      out.push(m);
      seq = m.seq + 1;
    }
    return out;
  }

  private async holds(seq: number, subject: string): Promise<boolean> {
    const m = await this.d.jsm.direct.getMessage(STREAM_CHAT, { seq });
    return m !== null && m.subject === subject;
  }

  /**
   * For a cursor of 0 the window covers the room only if the room never lost a message. The stream
   * does not record per-room drops, so this proves the stronger, stream-wide fact: no message was
   * ever removed (first seq is 1 and no seq after it is missing). Once anything was evicted this is
   * false, and the caller asks history, which is always correct.
   */
  private async neverDropped(): Promise<boolean> {
    const { state } = await this.d.jsm.streams.info(STREAM_CHAT);
    return state.first_seq <= 1 && (state.num_deleted ?? 0) === 0;
  }
}
