/**
 * ChatLog on JetStream: stream CHAT captures `chat.in.>` and republishes every stored message to
 * `chat.room.>` with `Nats-Sequence` and `Nats-Last-Sequence` (the previous seq of the same subject),
 * which is the per-room prev chain. Window reads use direct get (allow_direct), so they cost no
 * consumer and are served by any replica.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StoredMsg,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { STREAM_CHAT, type StoredChat, Subjects } from '@parley/protocol';
import { PullConsumer } from './bus.nats.consume.ts';
import { type NatsDeps, toBusError } from './bus.nats.util.ts';
import {
  type AppendResult,
  BusError,
  type ChatConsumer,
  type ChatLog,
  type ChatRecord,
  type ChatWindow,
  type Subscription,
  type WindowRead,
} from './bus.ts';

function windowConfig(
  w: ChatWindow,
): Pick<StreamConfig, 'max_msgs_per_subject' | 'max_age' | 'duplicate_window'> {
  return {
    max_msgs_per_subject: w.maxPerRoom,
    max_age: nanos(w.maxAgeMs),
    // The server refuses a duplicate window longer than max_age (0 = no age limit).
    duplicate_window: nanos(w.maxAgeMs > 0 ? Math.min(w.duplicateWindowMs, w.maxAgeMs) : w.duplicateWindowMs),
  };
}

/**
 * Creates stream CHAT, or updates the window of the existing one. Safe to race with other
 * instances doing the same: a lost create race falls back to reading the winner's stream.
 */
export async function ensureChatStream(
  jsm: JetStreamManager,
  w: ChatWindow,
  replicas: number,
): Promise<StreamInfo> {
  const win = windowConfig(w);
  let si: StreamInfo;
  try {
    si = await jsm.streams.info(STREAM_CHAT);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound)) throw e;
    try {
      return await jsm.streams.add({
        name: STREAM_CHAT,
        subjects: [Subjects.chatInAll],
        republish: { src: Subjects.chatInAll, dest: Subjects.chatRoomAll },
        allow_direct: true,
        storage: 'file',
        num_replicas: replicas,
        ...win,
      } as Partial<StreamConfig> as StreamConfig);
    } catch {
      si = await jsm.streams.info(STREAM_CHAT);
    }
  }
  const c = si.config;
  if (
    c.max_msgs_per_subject === win.max_msgs_per_subject &&
    c.max_age === win.max_age &&
    c.duplicate_window === win.duplicate_window
  ) {
    return si;
  }
  return jsm.streams.update(STREAM_CHAT, { ...c, ...win });
}

/** The stream's creation time (nanosecond ISO) as a compact base-36 name: a recreated stream gets a new one. */
export function epochOf(si: StreamInfo): string {
  const digits = si.created.replace(/\D/g, '');
  return digits.length > 0 ? BigInt(digits).toString(36) : 'unknown';
}

export class NatsChatLog implements ChatLog {
  epoch: string;

  constructor(
    private readonly d: NatsDeps,
    info: StreamInfo,
  ) {
    this.epoch = epochOf(info);
  }

  /** Re-reads the stream after a reconnect: it may have been recreated (new epoch) or lost. */
  async refresh(): Promise<void> {
    const si = await ensureChatStream(this.d.jsm, this.d.window, this.d.replicas);
    const epoch = epochOf(si);
    if (epoch !== this.epoch)
      this.d.log('warn', 'stream CHAT changed incarnation', { from: this.epoch, to: epoch });
    this.epoch = epoch;
  }

  async append(room: string, payload: string, msgId: string): Promise<AppendResult> {
    if (this.d.nc.isClosed()) throw new BusError('closed', 'append: connection closed');
    try {
      const ack = await this.d.js.publish(Subjects.chatIn(room), payload, {
        msgID: msgId,
        timeout: this.d.appendTimeoutMs,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (e) {
      // Whatever went wrong, the message may or may not be stored: the caller must not ack it, and a
      // retry with the same msgId is deduplicated. So every failure is 'unavailable' except close.
      const err = toBusError(e, `append to ${room}`);
      throw err.kind === 'closed' ? err : new BusError('unavailable', err.message, { cause: e });
    }
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
   */
  async readAfter(room: string, after: number, limit: number): Promise<WindowRead> {
    const subject = Subjects.chatIn(room);
    try {
      const stored = limit > 0 ? await this.readWindow(subject, after + 1, limit) : [];
      const covered = after > 0 ? await this.holds(after, subject) : await this.neverDropped();
      let prev = after;
      const messages = stored.map((m): StoredChat => {
        const out = { room, seq: m.seq, prev, data: m.string() };
        prev = m.seq;
        return out;
      });
      return { messages, covered };
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
    opts: { batch?: number } = {},
  ): ChatConsumer {
    return new PullConsumer(this.d, durable, handler, opts.batch ?? 256);
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
