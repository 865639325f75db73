/**
 * The whole cluster in one process on the real servers of the int project (NATS, Kafka, the
 * Mongo-wire server): gateway, history, presence and notify composed by embedded mode, with every
 * name that other test files could share made unique (Mongo database, bridge durable, writer
 * group). Notify's mention consumer reads the default `chat.messages` topic with its fixed group,
 * so history writes there too; int files run one at a time, so only one such group member runs.
 */
import { DEV_SECRET, signToken, type TokenClaims } from '@parley/auth';
import { type Embedded, startEmbedded } from '@parley/embedded';
import { createLogger, createTestLogger } from '@parley/log';
import { type MongoHandle, openMongo } from '@parley/store';
import { eventually, uniquePrefix, type WsClient, wsClient } from '@parley/testkit';

export interface Urls {
  natsUrl: string;
  kafkaBrokers: string;
  mongoUrl: string;
}

export interface DmStack {
  prefix: string;
  embedded: Embedded;
  /** ws://.../ws of the gateway. */
  ws: string;
  http: { gateway: string; history: string; presence: string; notify: string };
  /** A second handle on the stack's database, to inspect what the services stored. */
  mongo: MongoHandle;
  /** Connects with a dev token for `sub` (claims default to nothing but the user id). */
  connect(sub: string, claims?: Partial<TokenClaims>): Promise<WsClient>;
  /** Closes every client opened by connect(), the services, and drops the database. */
  stop(): Promise<void>;
}

export function devToken(sub: string, claims: Partial<TokenClaims> = {}): Promise<string> {
  return signToken(DEV_SECRET, { sub, ...claims }, { ttlSec: 3600 });
}

export async function startDmStack(urls: Urls, env: Record<string, string> = {}): Promise<DmStack> {
  const prefix = uniquePrefix('dm');
  const log = process.env.TEST_LOG_LEVEL
    ? createLogger({ service: 'dm-stack', level: process.env.TEST_LOG_LEVEL as 'debug' })
    : createTestLogger({ level: 'warn' }).logger;
  const embedded = await startEmbedded(
    {
      NATS_URL: urls.natsUrl,
      KAFKA_BROKERS: urls.kafkaBrokers,
      MONGO_URL: urls.mongoUrl,
      MONGO_DB: prefix,
      HISTORY_BRIDGE_DURABLE: prefix,
      HISTORY_WRITER_GROUP: prefix,
      GATEWAY_PORT: '0',
      HISTORY_PORT: '0',
      PRESENCE_PORT: '0',
      NOTIFY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      HISTORY_HOST: '127.0.0.1',
      PRESENCE_HOST: '127.0.0.1',
      NOTIFY_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    log,
  );
  const mongo = await openMongo(urls.mongoUrl, prefix);
  const { ports } = embedded;
  const http = {
    gateway: `http://127.0.0.1:${ports.gateway}`,
    history: `http://127.0.0.1:${ports.history}`,
    presence: `http://127.0.0.1:${ports.presence}`,
    notify: `http://127.0.0.1:${ports.notify}`,
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
  const ws = `ws://127.0.0.1:${ports.gateway}/ws`;
  const clients: WsClient[] = [];
  return {
    prefix,
    embedded,
    ws,
    http,
    mongo,
    async connect(sub, claims = {}) {
      const c = await wsClient(ws, { token: await devToken(sub, claims) });
      clients.push(c);
      return c;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await embedded.stop();
      await mongo.db.dropDatabase().catch(() => {});
      await mongo.close();
    },
  };
}

/** The error frame's code (undefined for any other reply). */
export function errorCode(f: { type: string; code?: unknown }): unknown {
  return f.type === 'error' ? f.code : undefined;
}
