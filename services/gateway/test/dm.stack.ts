/**
 * The whole cluster in one process on the real servers of the int project (NATS, Kafka, the
 * Mongo-wire server): gateway, history, presence and notify composed by embedded mode, with every
 * name that other test files could share made unique (Mongo database, bridge durable, writer
 * group). Notify's mention consumer reads the default `chat.messages` topic with its fixed group,
 * so history writes there too; int files run one at a time, so only one such group member runs.
 */
import { DEV_SECRET, signToken, type TokenClaims } from '@parley/auth';
import type { Embedded } from '@parley/embedded';
import { startStack, type Urls } from '@parley/embedded/testing';
import { type MongoHandle, openMongo } from '@parley/store';
import type { WsClient } from '@parley/testkit';

export type { Urls };

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
  const stack = await startStack(urls, env, { label: 'dm', defaultClaims: {} });
  const mongo = await openMongo(urls.mongoUrl, stack.prefix);
  return {
    ...stack,
    mongo,
    async stop() {
      await stack.stop();
      await mongo.db.dropDatabase().catch(() => {});
      await mongo.close();
    },
  };
}

/** The error frame's code (undefined for any other reply). */
export function errorCode(f: { type: string; code?: unknown }): unknown {
  return f.type === 'error' ? f.code : undefined;
}
