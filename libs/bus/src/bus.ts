/**
 * The message fabric, as the services see it: core pub/sub and request/reply (`Bus`), and the
 * durable per-room chat log (`ChatLog`, stream CHAT). Drivers: bus.memory.ts (embedded mode, unit
 * tests) and bus.nats.ts (NATS + JetStream). bus.contract.ts is the suite both must pass.
 */
import type { StoredChat } from '@parley/protocol';

export type Payload = Uint8Array | string;

export interface BusMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Decodes `data` as UTF-8. */
  string(): string;
  /** Replies to a request; false when the message was not a request. */
  respond(data: Payload): boolean;
}

export interface Subscription {
  unsubscribe(): void;
}

/**
 * Reference-counted interest in many exact subjects, served by one handler. Each subject is its
 * own interest on the server while it has a reference: a message reaches this process only for
 * subjects held here. Built for per-user subjects on a gateway with tens of thousands of users: a
 * subject costs one small record (its count included), not a subscription object and a closure
 * (nats.js: ~0.2 KiB instead of ~1.5 KiB). Changes of interest may reach the server up to one
 * event-loop turn later (NATS: batched, one write per turn); `flush()` sends them first.
 */
export interface SubjectRefs<K> {
  /**
   * Adds a reference to `subject` (no wildcards); the first one starts delivery to the handler
   * with `key` (later keys are ignored). True when this call started it.
   */
  acquire(subject: string, key: K): boolean;
  /** Drops a reference; the last one ends delivery at once. True when this call ended it. */
  release(subject: string): boolean;
  /** Subjects held. */
  readonly size: number;
  /** Ends delivery of every subject, whatever its count. */
  clear(): void;
}

/** Why a request failed: nobody listens (`no_responders`), nobody answered in time, or the bus is down. */
export class BusError extends Error {
  constructor(
    readonly kind: 'timeout' | 'no_responders' | 'closed' | 'unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BusError';
  }
}
export const isBusError = (e: unknown, kind?: BusError['kind']): e is BusError =>
  e instanceof BusError && (kind === undefined || e.kind === kind);

/**
 * Core messaging: at most once, in order per publisher and subject. Subjects are dot-separated
 * tokens with `*` (one token) and `>` (the rest) wildcards in subscriptions. Handlers run on the
 * event loop in arrival order and must not throw (a throw is caught and logged by the driver).
 */
export interface Bus {
  publish(subject: string, data: Payload): void;
  /** `queue`: one member of the group gets each message (load-balanced service queries). */
  subscribe(subject: string, handler: (msg: BusMsg) => void, opts?: { queue?: string }): Subscription;
  /** No subjects yet; handler rules as for `subscribe`. */
  subjectRefs<K>(handler: (key: K, msg: BusMsg) => void): SubjectRefs<K>;
  /** Resolves with the first reply; rejects with a BusError. */
  request(subject: string, data: Payload, opts: { timeoutMs: number }): Promise<BusMsg>;
  /** Resolves once the server has seen everything sent so far (subscriptions included). */
  flush(): Promise<void>;
  /** A full round trip to the server in ms; rejects when the server is unreachable (readiness). */
  ping(timeoutMs: number): Promise<number>;
  /** True while connected (false while reconnecting or closed). */
  readonly connected: boolean;
  readonly chat: ChatLog;
  /** Lets in-flight messages finish, then closes. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface AppendResult {
  seq: number;
  /** The same msgId was appended within the duplicate window: seq is the original's. */
  duplicate: boolean;
}

/** A message as the durable consumer sees it: no prev (that is a property of the republished copy). */
export type ChatRecord = Omit<StoredChat, 'prev'>;

/**
 * Messages stream CHAT evicted before the durables' feed (NATS: stream CHAT_LOG) copied them: they
 * never reach a durable, so they are missing from history. See ChatLog.consume.
 */
export interface SourceGap {
  /** Messages newly found missing (in this batch, or since the last batch this instance saw). */
  missing: number;
  /** Messages missing from CHAT_LOG in all, since its base. */
  lost: number;
  /**
   * Bounds (exclusive) of the CHAT seqs the newly missing messages lie between: the last copied
   * message this instance saw before them (0: none), and the first copied one after them. With one
   * bridge instance and no restart in between, the missing ones are exactly the seqs in between.
   */
  afterSeq: number;
  beforeSeq: number;
}

export interface ChatConsumer {
  stop(): Promise<void>;
  /** Messages not yet acknowledged by this consumer (bridge lag). */
  pending(): Promise<number>;
}

export interface WindowRead {
  /** Messages with seq > after, ascending, prev chained (the first's prev is `after`). */
  messages: StoredChat[];
  /**
   * True when the window holds every message of the room after `after`. When false, messages
   * between `after` and messages[0] (or the room's end) must come from history.
   */
  covered: boolean;
}

/**
 * Stream CHAT: one ordered log for all rooms, one subject per room. Seqs are stream-wide and
 * increase; `prev` links each message to the previous one in the same room, so a reader can prove
 * it missed nothing. Each room keeps a bounded window (count and age); older messages live in history.
 */
export interface ChatLog {
  /** Names this incarnation of the stream; it changes when the stream is recreated (seqs restart). */
  readonly epoch: string;
  /**
   * Appends durably: resolves only after the message is stored (the ack is a promise of durability).
   * The same msgId within the duplicate window resolves with the original seq and duplicate: true,
   * and is not delivered again.
   */
  append(room: string, payload: string, msgId: string): Promise<AppendResult>;
  /** Live delivery of the room's messages in seq order, each exactly once per subscription while connected. */
  subscribeRoom(room: string, handler: (m: StoredChat) => void): Subscription;
  /** Reads from the window; see WindowRead. At most `limit` messages. */
  readAfter(room: string, after: number, limit: number): Promise<WindowRead>;
  /** The room's last seq in the window, 0 if the window holds none. */
  lastSeq(room: string): Promise<number>;
  /**
   * A durable consumer over all rooms, in stream order. At least once: a batch is acknowledged only
   * when the handler resolves; a rejection redelivers it (after a back-off). A durable that lags
   * more than a room's window behind still gets every message: records are kept until every
   * durable acknowledged them (NATS: stream CHAT_LOG, bounded by its max_age, 7 days by default).
   * The feed copies CHAT asynchronously, so a message CHAT evicted before the copy never arrives:
   * `onSourceGap` reports such messages (before the batch after them is handled), never silently.
   * The memory driver has no such gap.
   */
  consume(
    durable: string,
    handler: (batch: ChatRecord[]) => Promise<void>,
    opts?: { batch?: number; onSourceGap?: (gap: SourceGap) => void },
  ): ChatConsumer;
}

export interface ChatWindow {
  /** Messages kept per room (JetStream max_msgs_per_subject). */
  maxPerRoom: number;
  maxAgeMs: number;
  duplicateWindowMs: number;
}

export const DEFAULT_CHAT_WINDOW: Readonly<ChatWindow> = Object.freeze({
  maxPerRoom: 1000,
  maxAgeMs: 24 * 3600_000,
  duplicateWindowMs: 120_000,
});
