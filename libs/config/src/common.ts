/**
 * Settings every Parley service shares (contract names from ARCHITECTURE §6). Service schemas
 * spread these into their own so a name means the same thing everywhere.
 */
import { DEV_SECRET } from '@parley/auth';
import type { Env } from './config.ts';
import { f } from './fields.ts';

const isProduction = (env: Env) => env.NODE_ENV === 'production';

export const brokerFields = {
  natsUrl: f.str('NATS_URL', 'NATS servers, comma separated (nats://host:4222); unset = embedded memory bus'),
  kafkaBrokers: f.list(
    'KAFKA_BROKERS',
    'Kafka bootstrap brokers, comma separated (host:9092); unset = memory log',
  ),
  mongoUrl: f.url('MONGO_URL', 'MongoDB connection string; unset = memory store', {
    protocols: ['mongodb', 'mongodb+srv'],
  }),
  mongoDb: f.str('MONGO_DB', 'MongoDB database name', { default: 'parley' }),
};

export const authFields = {
  authSecret: f.str('AUTH_JWT_SECRET', 'HS256 secret for JWTs (at least 32 characters)', {
    secret: true,
    pattern: /^.{32,}$/s,
    default: (env: Env) =>
      isProduction(env) || env.AUTH_PUBLIC_KEY_FILE || env.AUTH_JWKS_URL ? undefined : DEV_SECRET,
  }),
  authPublicKeyFile: f.str('AUTH_PUBLIC_KEY_FILE', 'PEM public key file for RS256/ES256/EdDSA JWTs'),
  authJwksUrl: f.url('AUTH_JWKS_URL', 'JWKS URL for RS256/ES256/EdDSA JWTs', {
    protocols: ['http', 'https'],
  }),
  authIssuer: f.str('AUTH_ISSUER', 'Required JWT issuer (iss), when set'),
  authAudience: f.str('AUTH_AUDIENCE', 'Required JWT audience (aud), when set'),
};

/** Stream CHAT's per-room window (ARCHITECTURE §2); the gateway creates or updates the stream. */
export const chatWindowFields = {
  chatWindowMessages: f.int('CHAT_WINDOW_MESSAGES', 'Messages kept per room in stream CHAT', {
    default: 1000,
    min: 1,
  }),
  chatWindowAgeMs: f.ms('CHAT_WINDOW_AGE', 'Longest a message stays in stream CHAT', {
    default: 24 * 3_600_000,
  }),
  chatFeedMaxUncopied: f.int(
    'CHAT_FEED_MAX_UNCOPIED',
    'Appends one gateway lets be stored in stream CHAT before the history feed (CHAT_LOG) copied them; ' +
      'default half of CHAT_WINDOW_MESSAGES. Gateways x this must not exceed CHAT_WINDOW_MESSAGES',
    { min: 1 },
  ),
  chatDuplicateWindowMs: f.ms(
    'CHAT_DUPLICATE_WINDOW',
    'Window in which a retried clientMsgId is recognised',
    {
      default: 120_000,
    },
  ),
  natsReplicas: f.int('NATS_REPLICAS', 'Replicas of stream CHAT (3 in a cluster)', {
    default: 1,
    min: 1,
    max: 5,
  }),
};

export const commonFields = {
  nodeEnv: f.str('NODE_ENV', 'production enables strict start-up checks (no dev secret)', {
    default: 'development',
  }),
  logLevel: f.enumOf(
    'LOG_LEVEL',
    'Log level',
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const,
    {
      default: 'info' as const,
    },
  ),
  instance: f.str('INSTANCE_ID', 'Name of this instance in logs, metrics and ops stats (default: host-pid)'),
  ...brokerFields,
  ...authFields,
  ...chatWindowFields,
};

/**
 * Cross-field rules of the shared settings, as problem lines (empty when fine): exactly one JWT key
 * source, and a real key in production.
 */
export function authProblems(c: {
  nodeEnv: string;
  authSecret?: string | undefined;
  authPublicKeyFile?: string | undefined;
  authJwksUrl?: string | undefined;
}): string[] {
  const sources = [c.authSecret, c.authPublicKeyFile, c.authJwksUrl].filter((s) => s !== undefined).length;
  if (sources === 0)
    return ['AUTH_JWT_SECRET: required in production (or set AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_URL)'];
  if (sources > 1)
    return ['AUTH_JWT_SECRET, AUTH_PUBLIC_KEY_FILE, AUTH_JWKS_URL: set exactly one key source'];
  if (c.nodeEnv === 'production' && c.authSecret === DEV_SECRET)
    return ['AUTH_JWT_SECRET: the dev secret is refused in production'];
  return [];
}

/** Cross-field rule of the chat window settings, as problem lines (empty when fine). */
export function chatWindowProblems(c: {
  chatWindowMessages: number;
  chatFeedMaxUncopied?: number | undefined;
}) {
  const max = c.chatFeedMaxUncopied;
  return max !== undefined && max > c.chatWindowMessages
    ? [
        `CHAT_FEED_MAX_UNCOPIED: ${max} exceeds CHAT_WINDOW_MESSAGES (${c.chatWindowMessages}); messages could be evicted before they reach history`,
      ]
    : [];
}

/** True when the dev secret is in use: callers log a loud warning at start. */
export const usesDevSecret = (c: { authSecret?: string | undefined }) => c.authSecret === DEV_SECRET;
