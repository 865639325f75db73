/**
 * Streams CHAT (the per-room window, RePublish to chat.room.>) and CHAT_LOG (the durables' lossless
 * feed, sourcing CHAT): created, brought to the configured limits, recreated with CHAT. Safe to run
 * from every instance at once.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { STREAM_CHAT, Subjects } from '@parley/protocol';
import { BASE_KEY } from './bus.nats.gap.ts';
import { type BusLog, type ChatLogRetention, HOLD_CONSUMER, STREAM_CHAT_LOG } from './bus.nats.util.ts';
import type { ChatWindow } from './bus.ts';

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
 * and usually lags by milliseconds, but a burst in one room pipelined faster than the copy, a
 * starved or stalled source, or the source (re)starting (about 200 ms after creation or a server
 * restart) can put it more than a room's window behind. So appends wait while too many are
 * uncopied (CopyGuard, bus.nats.guard.ts), consume() reports any message that still went missing
 * (SourceGapDetector, bus.nats.gap.ts, counted from the base recorded here), and createNatsBus waits
 * for a new CHAT_LOG's source to be active.
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

/** The stream's creation time (nanosecond ISO) as a compact base-36 name: a recreated stream gets a new one. */
export function epochOf(si: StreamInfo): string {
  const digits = si.created.replace(/\D/g, '');
  return digits.length > 0 ? BigInt(digits).toString(36) : 'unknown';
}
