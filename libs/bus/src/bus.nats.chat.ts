/**
 * ChatLog on JetStream: stream CHAT captures `chat.in.>` and republishes every stored message to
 * `chat.room.>` with `Nats-Sequence` and `Nats-Last-Sequence` (the previous seq of the same subject),
 * which is the per-room prev chain. Window reads use direct get (allow_direct), so they cost no
 * consumer and are served by any replica.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  type StoredMsg,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { STREAM_CHAT, type StoredChat, Subjects } from '@parley/protocol';
import { PullConsumer } from './bus.nats.consume.ts';
import { ChatLogPosition } from './bus.nats.copied.ts';
import { BASE_KEY } from './bus.nats.gap.ts';
import { CopyGuard } from './bus.nats.guard.ts';
import { PipelinedPublisher } from './bus.nats.publish.ts';
import {
  type BusLog,
  type ChatLogRetention,
  HOLD_CONSUMER,
  type NatsDeps,
  STREAM_CHAT_LOG,
  toBusError,
} from './bus.nats.util.ts';
import {
  type AppendResult,
  BusError,
  type ChatConsumer,
  type ChatLog,
  type ChatRecord,
  type ChatWindow,
  type SourceGap,
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

export const DEFAULT_CHAT_LOG_RETENTION: Readonly<ChatLogRetention> = Object.freeze({
  maxAgeMs: 7 * 24 * 3600_000,
});

/** CHAT_LOG metadata: the epoch of the CHAT incarnation it sources. */
const EPOCH_KEY = 'parley.chat_epoch';

/** The smallest duplicate window nats-server accepts (see ensureChatLogStream). */
const LOG_DUPLICATE_WINDOW_MS = 100;
const SOURCE_START_WAIT_MS = 5_000;
/** Reads of an uncovered window before readAfter gives up (each retry follows a proven eviction). */
const WINDOW_READ_ATTEMPTS = 3;

const notFound = (e: unknown, code: number): boolean => e instanceof JetStreamApiError && e.code === code;

/**
 * Creates stream CHAT, or updates the window of the existing one, then stream CHAT_LOG. Safe to
 * race with other instances doing the same: a lost create race falls back to reading the winner's
 * stream.
 */
export async function ensureChatStream(
  jsm: JetStreamManager,
  w: ChatWindow,
  replicas: number,
  retention: ChatLogRetention = DEFAULT_CHAT_LOG_RETENTION,
  log: BusLog = () => {},
): Promise<StreamInfo> {
  const chat = await ensureChatOnly(jsm, w, replicas);
  await ensureChatLogStream(jsm, chat, retention, log);
  return chat;
}

async function ensureChatOnly(jsm: JetStreamManager, w: ChatWindow, replicas: number): Promise<StreamInfo> {
  const win = windowConfig(w);
  let si: StreamInfo;
  try {
    si = await jsm.streams.info(STREAM_CHAT);
  } catch (e) {
    if (!notFound(e, JetStreamApiCodes.StreamNotFound)) throw e;
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

/**
 * Stream CHAT_LOG is what ChatLog.consume reads, so that a lagging bridge loses nothing. CHAT keeps
 * only a per-room window: a durable on CHAT that lags more than a room's window behind would never
 * see the evicted messages. CHAT_LOG copies every message inside the server right after CHAT
 * stored it, and keeps it until every durable acked it:
 *
 * - **Sources** CHAT (`sources: [{name: 'CHAT'}]`). A mirror would keep CHAT's seqs, but the server
 *   forces `mirror_direct` on a mirror of an `allow_direct` stream, so the mirror would answer
 *   CHAT's direct gets with messages the window no longer holds (breaking readAfter's coverage
 *   proof). A sourced message gets a CHAT_LOG seq; its CHAT seq, the room's message identity (acks,
 *   Mongo key, recovery), is in its `Nats-Stream-Source: CHAT <seq> > >` header (nats-server 2.11).
 * - A sourced stream deduplicates again by `Nats-Msg-Id`, in its own duplicate window: so that is
 *   the minimum the server accepts (100 ms). A message CHAT stored twice on purpose (the same msgId
 *   more than CHAT's duplicate window apart, 2 min by default) is dropped only if both copies
 *   reached CHAT_LOG within 100 ms: sourcing would have to catch up a backlog over 2 min old.
 * - **Interest** retention, not workqueue: a message is removed once every durable acked it, so
 *   storage follows the bridge's lag, not the traffic; and durables stay independent (each sees every
 *   message, as in the memory driver). Workqueue allows one consumer per subject only.
 * - No per-subject limit; `max_age` (default 7 days: the longest bridge outage that loses nothing)
 *   and an optional `max_bytes` (discard old); the same storage and replicas as CHAT.
 * - Interest retention does not store a message no consumer is interested in. So CHAT_LOG is created
 *   with a placeholder consumer (HOLD_CONSUMER) that never acks: it keeps every message until the
 *   first real durable exists (a fresh deployment where the bridge starts after the first messages,
 *   or an upgrade). consume() deletes it once its durable is in place; it is put back whenever
 *   CHAT_LOG has no consumer at all.
 *
 * The one bound left: sourcing must copy a message before CHAT evicts it. Sourcing runs in the server
 * and lags by milliseconds; it loses a message only if it falls more than a room's window (1000
 * messages, 24 h) behind, e.g. a source stalled that long in a cluster, or a burst of over a window
 * in one room while the source (re)starts (about 200 ms after creation or a server restart). Stream
 * info `sources[0].lag` shows it. createNatsBus waits for a new CHAT_LOG's source to be active.
 *
 * Upgrade from the driver that consumed CHAT directly: the old durable on CHAT is left alone (CHAT
 * has limits retention, so it pins nothing; delete it once no old bridge runs). A new CHAT_LOG starts
 * sourcing at the lowest ack floor of CHAT's durables, so the new durable resumes where the old one
 * stood (some redelivery, which the bridge's idempotent path absorbs).
 *
 * A recreated CHAT (new epoch, seqs restart at 1) would stall the source (it resumes after the last
 * seq it copied), so CHAT_LOG records the epoch it sources and is recreated when CHAT's differs; its
 * leftovers carry seqs of the old incarnation, which the new one reuses.
 */
export async function ensureChatLogStream(
  jsm: JetStreamManager,
  chat: StreamInfo,
  retention: ChatLogRetention,
  log: BusLog,
): Promise<StreamInfo> {
  const epoch = epochOf(chat);
  const limits = {
    max_age: nanos(retention.maxAgeMs),
    max_bytes: retention.maxBytes ?? -1,
    num_replicas: chat.config.num_replicas,
  };
  let si: StreamInfo;
  try {
    si = await jsm.streams.info(STREAM_CHAT_LOG);
  } catch (e) {
    if (!notFound(e, JetStreamApiCodes.StreamNotFound)) throw e;
    return createChatLog(jsm, chat, epoch, limits, log);
  }
  const sourced = si.config.metadata?.[EPOCH_KEY];
  if (sourced !== undefined && sourced !== epoch) {
    log('warn', 'stream CHAT was recreated: recreating CHAT_LOG', {
      from: sourced,
      to: epoch,
      dropped: si.state.messages,
    });
    await jsm.streams.delete(STREAM_CHAT_LOG).catch((e) => {
      if (!notFound(e, JetStreamApiCodes.StreamNotFound)) throw e;
    });
    return createChatLog(jsm, chat, epoch, limits, log);
  }
  if (si.state.consumer_count === 0) await addHold(jsm);
  const c = si.config;
  if (
    c.max_age === limits.max_age &&
    c.max_bytes === limits.max_bytes &&
    c.num_replicas === limits.num_replicas &&
    sourced === epoch
  ) {
    return si;
  }
  return jsm.streams.update(STREAM_CHAT_LOG, {
    ...c,
    ...limits,
    metadata: { ...c.metadata, [EPOCH_KEY]: epoch },
  });
}

async function createChatLog(
  jsm: JetStreamManager,
  chat: StreamInfo,
  epoch: string,
  limits: Pick<StreamConfig, 'max_age' | 'max_bytes' | 'num_replicas'>,
  log: BusLog,
): Promise<StreamInfo> {
  const start = await legacyAckFloor(jsm);
  // Without a start seq the source begins at CHAT's first stored message.
  const base = start > 0 ? start : Math.max(0, chat.state.first_seq - 1);
  let si: StreamInfo;
  try {
    si = await jsm.streams.add({
      name: STREAM_CHAT_LOG,
      sources: [{ name: STREAM_CHAT, ...(start > 0 ? { opt_start_seq: start + 1 } : {}) }],
      retention: RetentionPolicy.Interest,
      storage: chat.config.storage,
      max_msgs_per_subject: -1,
      duplicate_window: nanos(LOG_DUPLICATE_WINDOW_MS),
      discard: DiscardPolicy.Old,
      metadata: { [EPOCH_KEY]: epoch, [BASE_KEY]: String(base) },
      ...limits,
    } as Partial<StreamConfig> as StreamConfig);
  } catch {
    // Lost a create race: the winner adds the hold.
    return jsm.streams.info(STREAM_CHAT_LOG);
  }
  // Right after the create: the source's first copy comes after this in practice (its internal
  // consumer is set up asynchronously, ~200 ms), so the hold sees everything from the start.
  await addHold(jsm);
  si = await sourceActive(jsm, si);
  log('info', 'stream CHAT_LOG created', { epoch, ...(start > 0 ? { fromSeq: start + 1 } : {}) });
  return si;
}

/** Waits (bounded) until the source copies: before that, CHAT could evict what it has not copied. */
async function sourceActive(jsm: JetStreamManager, si: StreamInfo): Promise<StreamInfo> {
  const until = Date.now() + SOURCE_START_WAIT_MS;
  while ((si.sources?.[0]?.active ?? -1) < 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    si = await jsm.streams.info(STREAM_CHAT_LOG);
  }
  return si;
}

function addHold(jsm: JetStreamManager): Promise<unknown> {
  return jsm.consumers.add(STREAM_CHAT_LOG, {
    durable_name: HOLD_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
}

/** The lowest ack floor of the durables on CHAT (left by the driver that consumed CHAT), 0 if none. */
async function legacyAckFloor(jsm: JetStreamManager): Promise<number> {
  let floor = Number.POSITIVE_INFINITY;
  for await (const ci of jsm.consumers.list(STREAM_CHAT)) {
    if (ci.config.durable_name) floor = Math.min(floor, ci.ack_floor.stream_seq);
  }
  return Number.isFinite(floor) ? floor : 0;
}

function chained(room: string, after: number, stored: readonly StoredMsg[]): StoredChat[] {
  let prev = after;
  return stored.map((m): StoredChat => {
    const out = { room, seq: m.seq, prev, data: m.string() };
    prev = m.seq;
    return out;
  });
}

/** The stream's creation time (nanosecond ISO) as a compact base-36 name: a recreated stream gets a new one. */
export function epochOf(si: StreamInfo): string {
  const digits = si.created.replace(/\D/g, '');
  return digits.length > 0 ? BigInt(digits).toString(36) : 'unknown';
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
