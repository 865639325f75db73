/**
 * The whole cluster in one process for tests: gateway, history, presence and notify composed by
 * embedded mode, either on in-memory brokers or on the int project's real NATS, Kafka and Mongo-wire
 * server. On real servers each stack gets its own database; the history bridge durable and writer
 * group are shared by the run's stacks (see below).
 */
import { DEV_SECRET, signToken, type TokenClaims } from '@parley/auth';
import { createLogger, createTestLogger } from '@parley/log';
import { eventually, uniquePrefix, type WsClient, wsClient } from '@parley/testkit';
import { type Embedded, startEmbedded } from '../src/embedded.ts';

export interface Urls {
  natsUrl: string;
  kafkaBrokers: string;
  mongoUrl: string;
}

export interface Stack {
  prefix: string;
  embedded: Embedded;
  /** ws://.../ws of the gateway. */
  ws: string;
  http: { gateway: string; history: string; presence: string; notify: string };
  /** Connects with a dev token for `sub` (claims default to StackOptions.defaultClaims); closed by stop(). */
  connect(sub: string, claims?: Partial<TokenClaims>): Promise<WsClient>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Names the stack's unique prefix (Mongo database, durable, group). */
  label?: string;
  /** Claims every connect() token gets unless it passes its own; default: every room. */
  defaultClaims?: Partial<TokenClaims>;
}

export async function startStack(
  urls: Urls | 'memory',
  env: Record<string, string> = {},
  opts: StackOptions = {},
): Promise<Stack> {
  const prefix = uniquePrefix(opts.label ?? 'stack');
  const defaults = opts.defaultClaims ?? { rooms: ['*'] };
  const log = process.env.TEST_LOG_LEVEL
    ? createLogger({ service: 'stack', level: process.env.TEST_LOG_LEVEL as 'debug' })
    : createTestLogger({ level: 'warn' }).logger;
  const brokers =
    urls === 'memory'
      ? {}
      : {
          NATS_URL: urls.natsUrl,
          KAFKA_BROKERS: urls.kafkaBrokers,
          MONGO_URL: urls.mongoUrl,
          MONGO_DB: prefix,
          // One bridge durable and one writer group for every stack of a run (test files run one at
          // a time): a new stack resumes where the last stopped instead of replaying everything
          // earlier files left in CHAT_LOG and chat.messages into its fresh database.
          HISTORY_BRIDGE_DURABLE: 'test-stack-bridge',
          HISTORY_WRITER_GROUP: 'test-stack-writer',
        };
  const ports = Object.fromEntries(
    ['GATEWAY', 'HISTORY', 'PRESENCE', 'NOTIFY'].flatMap((s) => [
      [`${s}_PORT`, '0'],
      [`${s}_HOST`, '127.0.0.1'],
    ]),
  );
  const embedded = await startEmbedded({ ...brokers, ...ports, LOG_LEVEL: 'warn', ...env }, log);
  const p = embedded.ports;
  const http = {
    gateway: `http://127.0.0.1:${p.gateway}`,
    history: `http://127.0.0.1:${p.history}`,
    presence: `http://127.0.0.1:${p.presence}`,
    notify: `http://127.0.0.1:${p.notify}`,
  };
  await eventually(
    async () => {
      for (const base of Object.values(http)) {
        const r = await fetch(`${base}/readyz`);
        if (r.status !== 200) throw new Error(`${base}/readyz ${r.status}`);
      }
    },
    { timeoutMs: 30_000, message: 'every service ready' },
  );
  const ws = `ws://127.0.0.1:${p.gateway}/ws`;
  const clients: WsClient[] = [];
  return {
    prefix,
    embedded,
    ws,
    http,
    connect: async (sub, claims) => {
      const token = await signToken(DEV_SECRET, { sub, ...(claims ?? defaults) }, { ttlSec: 3600 });
      const c = await wsClient(ws, { token });
      clients.push(c);
      return c;
    },
    stop: async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
      await embedded.stop();
    },
  };
}
