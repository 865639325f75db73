/**
 * The Bus on NATS: core pub/sub and request/reply on one connection that reconnects forever, and
 * the ChatLog on JetStream streams CHAT and CHAT_LOG (bus.nats.chat.ts, bus.nats.streams.ts). Messages from nats.js already have the
 * BusMsg shape, so subscriptions hand them over without copying.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { NatsChatLog } from './bus.nats.chat.ts';
import { DEFAULT_CHAT_LOG_RETENTION, ensureChatStream } from './bus.nats.streams.ts';
import { NatsSubjectRefs } from './bus.nats.subjects.ts';
import { type BusLog, toBusError, withTimeout } from './bus.nats.util.ts';
import {
  type Bus,
  BusError,
  type BusMsg,
  type ChatWindow,
  DEFAULT_CHAT_WINDOW,
  type Payload,
  type SubjectRefs,
  type Subscription,
} from './bus.ts';

export interface NatsBusOptions {
  /** Comma-separated server URLs (NATS_URL). */
  servers: string;
  /** Connection name shown by the server (service and instance). */
  name: string;
  window?: Partial<ChatWindow>;
  /** Stream CHAT replicas when this instance creates it (3 in a cluster). Default 1. */
  replicas?: number;
  /**
   * Stream CHAT_LOG, the lossless feed of ChatLog.consume: how long un-acknowledged messages are kept
   * (default 7 days: the longest bridge outage that loses nothing) and an optional size cap.
   * `maxUncopied`: appends this process lets be stored in CHAT and not yet copied to CHAT_LOG
   * (bus.nats.guard.ts; default half the window). With N appending processes (gateways) at most
   * N times this is uncopied, which must not exceed the window for no message to be lost.
   */
  chatLog?: { maxAgeMs?: number; maxBytes?: number; maxUncopied?: number };
  /**
   * ack_wait of ChatLog.consume durables: how long a delivery whose ack was lost (crash, kill -9 of
   * the server) waits before redelivery. A handler running longer keeps its batch with progress
   * acks. Default 10 000.
   */
  consumerAckWaitMs?: number;
  /** Bound on an append's wait for its PubAck; it then rejects 'unavailable'. Default 5000. */
  appendTimeoutMs?: number;
  /** Batch direct get for window reads; default: detected (nats-server 2.11+). */
  directBatch?: boolean;
  log?: BusLog;
}

const RECONNECT_WAIT_MS = 250;
const RECONNECT_JITTER_MS = 250;

/** Connects, ensures streams CHAT (with the given window) and CHAT_LOG, and returns a Bus that reconnects forever. */
export async function createNatsBus(opts: NatsBusOptions): Promise<Bus> {
  const log = opts.log ?? (() => {});
  const nc = await connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: RECONNECT_JITTER_MS,
  });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const window = { ...DEFAULT_CHAT_WINDOW, ...opts.window };
    const replicas = opts.replicas ?? 1;
    const { maxUncopied = Math.max(1, Math.floor(window.maxPerRoom / 2)), ...chatLog } = opts.chatLog ?? {};
    if (!(Number.isSafeInteger(maxUncopied) && maxUncopied >= 1 && maxUncopied <= window.maxPerRoom))
      throw new RangeError(
        `chatLog.maxUncopied: ${maxUncopied} must be a whole number from 1 to the window (${window.maxPerRoom} messages per room)`,
      );
    const retention = { ...DEFAULT_CHAT_LOG_RETENTION, ...chatLog };
    const info = await ensureChatStream(jsm, window, replicas, retention, log);
    const bus = new NatsBus(nc, log);
    const chat = new NatsChatLog(
      {
        nc,
        js: jetstream(nc),
        jsm,
        window,
        replicas,
        retention,
        maxUncopied,
        ackWaitMs: opts.consumerAckWaitMs ?? 10_000,
        appendTimeoutMs: opts.appendTimeoutMs ?? 5_000,
        directBatch: opts.directBatch ?? supportsBatchGet(nc.info?.version),
        log,
        whenConnected: () => bus.whenConnected(),
      },
      info,
    );
    bus.attach(chat);
    return bus;
  } catch (e) {
    await nc.close();
    throw toBusError(e, 'createNatsBus');
  }
}

/** Batch direct get (`batch` + `next_by_subj`) arrived in nats-server 2.11. */
function supportsBatchGet(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '').split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 11);
}

class NatsBus implements Bus {
  private up = true;
  private waiters: (() => void)[] = [];
  private chatLog: NatsChatLog | undefined;
  /** Their queued SUBs and UNSUBs are sent before a flush, so flush still covers subscriptions. */
  private readonly subjectRefsList: NatsSubjectRefs<unknown>[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: BusLog,
  ) {
    void this.watchStatus();
  }

  attach(chat: NatsChatLog): void {
    this.chatLog = chat;
  }

  get chat(): NatsChatLog {
    if (!this.chatLog) throw new Error('bus.nats: chat log not attached');
    return this.chatLog;
  }

  get connected(): boolean {
    return this.up && !this.nc.isClosed();
  }

  /** Resolves when the connection is up (at once if it is); rejects once it is closed. */
  whenConnected(): Promise<void> {
    if (this.nc.isClosed()) return Promise.reject(new BusError('closed', 'bus connection is closed'));
    if (this.up) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.up = false;
        this.log('warn', 'nats disconnected', { server: s.server });
      } else if (s.type === 'reconnect') {
        this.up = true;
        this.log('info', 'nats reconnected', { server: s.server });
        for (const w of this.waiters.splice(0)) w();
        this.chatLog
          ?.refresh()
          .catch((e) => this.log('warn', 'stream CHAT check failed', { err: String(e) }));
      } else if (s.type === 'error') {
        this.log('error', 'nats error', { err: String(s.error) });
      }
    }
    this.up = false;
    // Closed: wake waiters so their loops observe isClosed() and end.
    for (const w of this.waiters.splice(0)) w();
  }

  publish(subject: string, data: Payload): void {
    if (!this.nc.isClosed()) this.nc.publish(subject, data);
  }

  subscribe(subject: string, handler: (msg: BusMsg) => void, opts: { queue?: string } = {}): Subscription {
    const log = this.log;
    if (this.nc.isClosed()) throw new BusError('closed', 'bus connection is closed');
    const sub = this.nc.subscribe(subject, {
      ...(opts.queue === undefined ? {} : { queue: opts.queue }),
      callback: (err, msg: Msg) => {
        if (err) return log('warn', 'subscription error', { subject, err: err.message });
        try {
          handler(msg);
        } catch (e) {
          log('error', 'subscription handler threw', { subject, err: String(e) });
        }
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  subjectRefs<K>(handler: (key: K, msg: BusMsg) => void): SubjectRefs<K> {
    const refs = new NatsSubjectRefs(this.nc, handler, this.log);
    this.subjectRefsList.push(refs as NatsSubjectRefs<unknown>);
    return refs;
  }

  async request(subject: string, data: Payload, opts: { timeoutMs: number }): Promise<BusMsg> {
    try {
      return await this.nc.request(subject, data, { timeout: opts.timeoutMs });
    } catch (e) {
      throw toBusError(e, `request to ${subject}`);
    }
  }

  async flush(): Promise<void> {
    for (const r of this.subjectRefsList) r.sendPending();
    try {
      await this.nc.flush();
    } catch (e) {
      throw toBusError(e, 'flush');
    }
  }

  async ping(timeoutMs: number): Promise<number> {
    try {
      return await withTimeout(this.nc.rtt(), timeoutMs, 'unavailable', 'ping');
    } catch (e) {
      throw toBusError(e, 'ping');
    }
  }

  async drain(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
    this.chatLog?.close();
  }

  async close(): Promise<void> {
    await this.nc.close();
    this.chatLog?.close();
  }
}
