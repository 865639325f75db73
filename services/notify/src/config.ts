/** Notify settings: the shared ones (ARCHITECTURE §6) plus the API's limits, TTLs and fan-out batch. */
import { authProblems, ConfigError, commonFields, type Env, f, loadConfig } from '@parley/config';

export const notifySchema = {
  ...commonFields,
  port: f.int('NOTIFY_PORT', 'HTTP port of the notification API (0 = any free port)', {
    default: 8083,
    min: 0,
    max: 65535,
  }),
  host: f.str('NOTIFY_HOST', 'Address to listen on', { default: '0.0.0.0' }),
  maxBodyBytes: f.int('NOTIFY_MAX_BODY_BYTES', 'Largest request body (HTTP and Kafka); bigger is 413', {
    default: 64 * 1024,
    min: 1024,
  }),
  maxUsers: f.int('NOTIFY_MAX_USERS', 'Most user ids in one request’s to.users', {
    default: 10_000,
    min: 1,
  }),
  defaultTtlMs: f.ms('NOTIFY_DEFAULT_TTL', 'How long a notification is kept when ttlSeconds is not given', {
    default: 30 * 24 * 3_600_000,
  }),
  idempotencyTtlMs: f.ms('NOTIFY_IDEMPOTENCY_TTL', 'How long an idempotencyKey returns the first answer', {
    default: 24 * 3_600_000,
  }),
  batchSize: f.int('NOTIFY_BATCH', 'Recipients resolved, stored and delivered per step of a fan-out', {
    default: 500,
    min: 1,
    max: 5000,
  }),
  unreadLimit: f.int('NOTIFY_UNREAD_LIMIT', 'Most unread notifications one unread query returns', {
    default: 50,
    min: 1,
    max: 1000,
  }),
  queryConcurrency: f.int(
    'NOTIFY_QUERY_CONCURRENCY',
    'Store lookups of notify.query (unread, read) in flight at once; keep it well below the Mongo pool (20) so inbox writes always find a connection',
    { default: 4, min: 1, max: 64 },
  ),
  queryDeadlineMs: f.ms(
    'NOTIFY_QUERY_DEADLINE',
    'A notify.query lookup still queued this long after the request arrived is dropped (the gateway gave up: its REQUEST_TIMEOUT is 3 s)',
    { default: 3000 },
  ),
  purgeIntervalMs: f.ms(
    'NOTIFY_PURGE_INTERVAL',
    'How often expired notifications and idempotency keys are deleted; needed where the server has no TTL indexes (FerretDB), cheap where it has (MongoDB); 0 = never',
    { default: 10 * 60_000 },
  ),
  statsIntervalMs: f.ms('NOTIFY_STATS_INTERVAL', 'Period of the ops.stats heartbeat and Kafka lag sampling', {
    default: 2000,
  }),
  mentions: f.bool('NOTIFY_MENTIONS', 'Turn @userId in chat messages into notifications', {
    default: true,
  }),
};

export type NotifyConfig = ReturnType<typeof loadNotifyConfig>;

export function loadNotifyConfig(env: Env) {
  const cfg = loadConfig(notifySchema, env);
  const problems = authProblems(cfg);
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}
