/**
 * Small pieces shared by the NATS driver's files: error mapping, bounded waits, ack-subject parsing.
 */

import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { errors } from '@nats-io/nats-core';
import { BusError, type ChatWindow } from './bus.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type BusLog = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** The durables' feed: sources CHAT, interest retention (see ensureChatLogStream). */
export const STREAM_CHAT_LOG = 'CHAT_LOG';
/** Consumer that holds CHAT_LOG's messages while no durable of ChatLog.consume exists yet. */
export const HOLD_CONSUMER = 'parley-hold';

/** Retention of stream CHAT_LOG (see ensureChatLogStream). */
export interface ChatLogRetention {
  /** Un-bridged messages older than this are dropped (the bound on a bridge outage). */
  maxAgeMs: number;
  /** Optional size cap; when reached the oldest messages are dropped. Undefined: none. */
  maxBytes?: number | undefined;
}

/** What the driver's parts share: one connection, its JetStream handles, settings, the log. */
export interface NatsDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  window: ChatWindow;
  replicas: number;
  /** Stream CHAT_LOG's limits (the durables' feed). */
  retention: ChatLogRetention;
  /** Appends stored and not yet copied to CHAT_LOG that this process lets exist (CopyGuard). */
  maxUncopied: number;
  /** ack_wait of ChatLog.consume durables. */
  ackWaitMs: number;
  appendTimeoutMs: number;
  /** Batch direct get (nats-server 2.11+) for window reads; else one next_by_subj get per message. */
  directBatch: boolean;
  log: BusLog;
  whenConnected: () => Promise<void>;
}

/** Maps a nats.js failure to the one BusError kind a caller can act on; `what` names the operation. */
export function toBusError(e: unknown, what: string): BusError {
  if (e instanceof BusError) return e;
  const cause = e instanceof errors.RequestError && e.cause !== undefined ? e.cause : e;
  const why = e instanceof Error ? e.message : String(e);
  if (cause instanceof errors.NoRespondersError) {
    return new BusError('no_responders', `${what}: no responders`, { cause: e });
  }
  if (cause instanceof errors.TimeoutError)
    return new BusError('timeout', `${what}: timed out`, { cause: e });
  if (cause instanceof errors.ClosedConnectionError || cause instanceof errors.DrainingConnectionError) {
    return new BusError('closed', `${what}: connection closed`, { cause: e });
  }
  return new BusError('unavailable', `${what}: ${why}`, { cause: e });
}

/** Rejects with BusError `kind` when `p` has not settled within `ms`; the timer never outlives `p`. */
export function withTimeout<T>(p: Promise<T>, ms: number, kind: BusError['kind'], what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BusError(kind, `${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * The stream seq of a JetStream delivery, read from its ack subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` (9 tokens), or the
 * domain form `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>...` (12+ tokens).
 * Returns 0 for anything else.
 */
export function ackStreamSeq(reply: string | undefined): number {
  if (!reply?.startsWith('$JS.ACK.')) return 0;
  const t = reply.split('.');
  const i = t.length === 9 ? 5 : t.length >= 12 ? 7 : -1;
  const seq = i < 0 ? Number.NaN : Number(t[i]);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

/**
 * The origin seq of a message sourced from stream `origin`, from its `Nats-Stream-Source` header:
 * `<stream> <seq> <filter> <transform>` (nats-server 2.10+; `<seq>` alone before), where the stream
 * may carry `:<hash>` when sourced across domains. Returns 0 for anything else.
 */
export function sourcedSeq(header: string | undefined, origin: string): number {
  const [stream = '', seqText = ''] = (header ?? '').trim().split(/\s+/);
  if (stream.split(':')[0] !== origin) return 0;
  const seq = Number(seqText);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

/** A sleep that `wake()` ends early (so stop() never waits out a back-off). */
export function wakeableSleep(ms: number): { done: Promise<void>; wake: () => void } {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, wake };
}
