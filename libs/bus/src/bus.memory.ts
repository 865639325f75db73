/**
 * In-process driver with the same guarantees as NATS + JetStream, for embedded mode and tests.
 * One `MemoryBroker` plays the server; each `connect()` is a client connection, so several
 * gateways and services can run in one process and be closed independently.
 */
import { type StoredChat, Subjects } from '@parley/protocol';
import {
  type AppendResult,
  type Bus,
  BusError,
  type BusMsg,
  type ChatConsumer,
  type ChatLog,
  type ChatRecord,
  type ChatWindow,
  DEFAULT_CHAT_WINDOW,
  type Payload,
  type SubjectRefs,
  type Subscription,
  type WindowRead,
} from './bus.ts';
import { subjectMatches } from './subject.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const toBytes = (d: Payload) => (typeof d === 'string' ? encoder.encode(d) : d);

interface Sub {
  pattern: string;
  queue?: string;
  handler: (m: BusMsg) => void;
  conn: MemoryConnection;
}

interface RoomLog {
  messages: (StoredChat & { at: number })[];
  last: number;
}

interface Durable {
  ackFloor: number;
}

export class MemoryBroker {
  private readonly subs = new Set<Sub>();
  private readonly rooms = new Map<string, RoomLog>();
  private readonly dedupe = new Map<string, { seq: number; at: number }>();
  readonly durables = new Map<string, Durable>();
  /** Every appended record still needed by a durable consumer, in stream order. */
  readonly records: (ChatRecord & { at: number })[] = [];
  private seq = 0;
  readonly epoch = `mem-${Date.now().toString(36)}`;
  readonly window: ChatWindow;
  private inboxes = 0;

  constructor(window: Partial<ChatWindow> = {}) {
    this.window = { ...DEFAULT_CHAT_WINDOW, ...window };
  }

  connect(): Bus {
    return new MemoryConnection(this);
  }

  addSub(sub: Sub): Subscription {
    this.subs.add(sub);
    return { unsubscribe: () => this.subs.delete(sub) };
  }

  dropConnection(conn: MemoryConnection): void {
    for (const s of this.subs) if (s.conn === conn) this.subs.delete(s);
  }

  /** Delivers asynchronously (like a network hop), preserving publish order. */
  route(subject: string, data: Uint8Array, reply?: string): boolean {
    const groups = new Map<string, Sub[]>();
    const direct: Sub[] = [];
    for (const s of this.subs) {
      if (!subjectMatches(s.pattern, subject)) continue;
      if (s.queue === undefined) direct.push(s);
      else {
        const g = groups.get(s.queue) ?? [];
        g.push(s);
        groups.set(s.queue, g);
      }
    }
    for (const g of groups.values()) direct.push(g[Math.floor(Math.random() * g.length)]!);
    for (const s of direct) {
      const msg = this.message(subject, data, reply);
      queueMicrotask(() => {
        if (!this.subs.has(s)) return;
        try {
          s.handler(msg);
        } catch (e) {
          console.error(`bus.memory: handler for ${s.pattern} threw`, e);
        }
      });
    }
    return direct.length > 0;
  }

  message(subject: string, data: Uint8Array, reply?: string): BusMsg {
    return {
      subject,
      data,
      string: () => decoder.decode(data),
      respond: (d) => {
        if (!reply) return false;
        this.route(reply, toBytes(d));
        return true;
      },
    };
  }

  newInbox(): string {
    return `_INBOX.mem.${++this.inboxes}`;
  }

  append(room: string, payload: string, msgId: string): AppendResult {
    const now = Date.now();
    this.expireDedupe(now);
    const seen = this.dedupe.get(msgId);
    if (seen) return { seq: seen.seq, duplicate: true };
    const seq = ++this.seq;
    this.dedupe.set(msgId, { seq, at: now });
    const log = this.rooms.get(room) ?? { messages: [], last: 0 };
    this.rooms.set(room, log);
    const m: StoredChat = { room, seq, prev: log.last, data: payload };
    log.last = seq;
    log.messages.push({ ...m, at: now });
    if (log.messages.length > this.window.maxPerRoom) log.messages.shift();
    this.records.push({ room, seq, data: payload, at: now });
    this.trimRecords();
    const subject = Subjects.chatRoom(room);
    for (const s of this.subs) {
      if (!subjectMatches(s.pattern, subject)) continue;
      queueMicrotask(() => {
        if (!this.subs.has(s)) return;
        try {
          (s.handler as unknown as (m: StoredChat) => void)(m);
        } catch (e) {
          console.error(`bus.memory: room handler for ${s.pattern} threw`, e);
        }
      });
    }
    return { seq, duplicate: false };
  }

  windowOf(room: string): (StoredChat & { at: number })[] {
    const log = this.rooms.get(room);
    if (!log) return [];
    const cutoff = Date.now() - this.window.maxAgeMs;
    while (log.messages.length > 0 && log.messages[0]!.at < cutoff) log.messages.shift();
    return log.messages;
  }

  /** Seqs are assigned from 1, so a room whose first message (prev 0) is still held is complete. */
  roomComplete(room: string): boolean {
    const w = this.windowOf(room);
    return w.length === 0 ? !this.rooms.has(room) : w[0]!.prev === 0;
  }

  trimRecords(): void {
    let floor = Number.POSITIVE_INFINITY;
    for (const d of this.durables.values()) floor = Math.min(floor, d.ackFloor);
    if (this.durables.size === 0) floor = this.seq - this.window.maxPerRoom * 100;
    let n = 0;
    while (n < this.records.length && this.records[n]!.seq <= floor) n++;
    if (n > 0) this.records.splice(0, n);
  }

  private expireDedupe(now: number): void {
    for (const [id, v] of this.dedupe) {
      if (now - v.at <= this.window.duplicateWindowMs) break;
      this.dedupe.delete(id);
    }
  }
}

class MemoryConnection implements Bus {
  private closed = false;
  readonly chat: ChatLog;

  constructor(private readonly broker: MemoryBroker) {
    this.chat = new MemoryChatLog(broker, this);
  }

  get connected(): boolean {
    return !this.closed;
  }

  publish(subject: string, data: Payload): void {
    if (!this.closed) this.broker.route(subject, toBytes(data));
  }

  subscribe(subject: string, handler: (msg: BusMsg) => void, opts: { queue?: string } = {}): Subscription {
    this.assertOpen();
    const sub: Sub = { pattern: subject, handler, conn: this };
    if (opts.queue !== undefined) sub.queue = opts.queue;
    return this.broker.addSub(sub);
  }

  subjectRefs<K>(handler: (key: K, msg: BusMsg) => void): SubjectRefs<K> {
    // Memory is not what this saves here: one ordinary subscription per subject.
    const held = new Map<string, { refs: number; sub: Subscription }>();
    return {
      acquire: (subject, key) => {
        const h = held.get(subject);
        if (h) {
          h.refs++;
          return false;
        }
        held.set(subject, { refs: 1, sub: this.subscribe(subject, (m) => handler(key, m)) });
        return true;
      },
      release: (subject) => {
        const h = held.get(subject);
        if (!h || --h.refs > 0) return false;
        h.sub.unsubscribe();
        held.delete(subject);
        return true;
      },
      get size() {
        return held.size;
      },
      clear: () => {
        for (const h of held.values()) h.sub.unsubscribe();
        held.clear();
      },
    };
  }

  request(subject: string, data: Payload, opts: { timeoutMs: number }): Promise<BusMsg> {
    this.assertOpen();
    const inbox = this.broker.newInbox();
    return new Promise((resolve, reject) => {
      const sub = this.broker.addSub({
        pattern: inbox,
        conn: this,
        handler: (m) => {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(m);
        },
      });
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new BusError('timeout', `request to ${subject} timed out after ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      if (!this.broker.route(subject, toBytes(data), inbox)) {
        clearTimeout(timer);
        sub.unsubscribe();
        reject(new BusError('no_responders', `no service answers ${subject}`));
      }
    });
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await new Promise((r) => setImmediate(r));
  }

  async ping(): Promise<number> {
    this.assertOpen();
    return 0;
  }

  async drain(): Promise<void> {
    await this.flush().catch(() => {});
    await this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.broker.dropConnection(this);
  }

  assertOpen(): void {
    if (this.closed) throw new BusError('closed', 'bus connection is closed');
  }
}

class MemoryChatLog implements ChatLog {
  constructor(
    private readonly broker: MemoryBroker,
    private readonly conn: MemoryConnection,
  ) {}

  get epoch(): string {
    return this.broker.epoch;
  }

  async append(room: string, payload: string, msgId: string): Promise<AppendResult> {
    this.conn.assertOpen();
    return this.broker.append(room, payload, msgId);
  }

  subscribeRoom(room: string, handler: (m: StoredChat) => void): Subscription {
    this.conn.assertOpen();
    return this.broker.addSub({
      pattern: Subjects.chatRoom(room),
      conn: this.conn,
      handler: handler as unknown as (m: BusMsg) => void,
    });
  }

  async readAfter(room: string, after: number, limit: number): Promise<WindowRead> {
    this.conn.assertOpen();
    const w = this.broker.windowOf(room);
    const start = w.findIndex((m) => m.seq > after);
    const covered = after === 0 ? this.broker.roomComplete(room) : w.some((m) => m.seq === after);
    const slice = start < 0 ? [] : w.slice(start, start + limit);
    let prev = after;
    const messages = slice.map((m) => {
      const out = { room, seq: m.seq, prev, data: m.data };
      prev = m.seq;
      return out;
    });
    return { messages, covered };
  }

  async lastSeq(room: string): Promise<number> {
    this.conn.assertOpen();
    const w = this.broker.windowOf(room);
    return w.length === 0 ? 0 : w[w.length - 1]!.seq;
  }

  consume(
    durable: string,
    handler: (batch: ChatRecord[]) => Promise<void>,
    opts: { batch?: number } = {},
  ): ChatConsumer {
    const state = this.broker.durables.get(durable) ?? { ackFloor: 0 };
    this.broker.durables.set(durable, state);
    const size = opts.batch ?? 256;
    let stopped = false;
    let backoff = 50;
    const loop = async () => {
      while (!stopped && this.conn.connected) {
        const batch = this.broker.records.filter((r) => r.seq > state.ackFloor).slice(0, size);
        if (batch.length === 0) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        try {
          await handler(batch.map(({ room, seq, data }) => ({ room, seq, data })));
          state.ackFloor = batch[batch.length - 1]!.seq;
          this.broker.trimRecords();
          backoff = 50;
        } catch {
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 2000);
        }
      }
    };
    const done = loop();
    return {
      stop: async () => {
        stopped = true;
        await done;
      },
      pending: async () => this.broker.records.filter((r) => r.seq > state.ackFloor).length,
    };
  }
}

/** A memory bus on a fresh broker (tests). Embedded mode shares one broker between services. */
export function createMemoryBus(window?: Partial<ChatWindow>): { broker: MemoryBroker; bus: Bus } {
  const broker = new MemoryBroker(window);
  return { broker, bus: broker.connect() };
}
