/** History settings: the shared ones (ARCHITECTURE §6) plus pipeline batching, retries and query caps. */
import { authProblems, ConfigError, commonFields, type Env, f, loadConfig } from '@parley/config';
import { DEFAULT_MAX_ROOM_MEMBERS, KafkaTopics, MAX_LIST } from '@parley/protocol';

export const historySchema = {
  ...commonFields,
  port: f.int('HISTORY_PORT', 'HTTP port (history API, health, metrics); 0 = any free port', {
    default: 8081,
    min: 0,
    max: 65535,
  }),
  host: f.str('HISTORY_HOST', 'Address to listen on', { default: '0.0.0.0' }),
  bridgeBatch: f.int(
    'HISTORY_BRIDGE_BATCH',
    'JetStream messages per pull; also the most the bridge holds un-acked by Kafka (its memory bound)',
    { default: 1000, min: 1, max: 10_000 },
  ),
  writerBatch: f.int('HISTORY_WRITER_BATCH', 'Kafka records per Mongo bulk write', {
    default: 1000,
    min: 1,
    max: 10_000,
  }),
  retryMinMs: f.ms('HISTORY_RETRY_MIN', 'First back-off of a failed Mongo write (doubles per failure)', {
    default: 100,
  }),
  retryMaxMs: f.ms('HISTORY_RETRY_MAX', 'Longest back-off between Mongo write retries', { default: 2000 }),
  kafkaPartitions: f.int('HISTORY_KAFKA_PARTITIONS', 'Partitions of chat.messages when history creates it', {
    default: 8,
    min: 1,
    max: 1024,
  }),
  durable: f.str('HISTORY_BRIDGE_DURABLE', 'JetStream durable consumer of the bridge', {
    default: 'history-bridge',
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
  }),
  bridgeAckWaitMs: f.ms(
    'HISTORY_BRIDGE_ACK_WAIT',
    'How long a bridge batch whose ack was lost (crash, kill -9) waits before JetStream redelivers it',
    { default: 10_000 },
  ),
  group: f.str('HISTORY_WRITER_GROUP', 'Kafka consumer group of the writer', { default: 'history-writer' }),
  topic: f.str(
    'HISTORY_TOPIC',
    'Kafka topic of chat messages (notify reads it too: change only to migrate)',
    {
      default: KafkaTopics.chatMessages,
    },
  ),
  deadTopic: f.str('HISTORY_DEAD_TOPIC', 'Kafka topic for records the writer cannot parse', {
    default: KafkaTopics.chatMessagesDead,
  }),
  maxPage: f.int('HISTORY_MAX_PAGE', 'Largest page (page, conversations, HTTP limit)', {
    default: 1000,
    min: 1,
    max: 10_000,
  }),
  maxAfter: f.int('HISTORY_MAX_AFTER', 'Largest `after` read (deep tier of recovery asks REPLAY_CAP + 1)', {
    default: 10_001,
    min: 1,
    max: 100_000,
  }),
  maxUnreadRooms: f.int('HISTORY_MAX_UNREAD_ROOMS', 'Rooms in one unread request', {
    default: MAX_LIST,
    min: 1,
  }),
  maxRoomMembers: f.int('MAX_ROOM_MEMBERS', 'Members of a user-limited room (dm#a,b); same as the gateway', {
    default: DEFAULT_MAX_ROOM_MEMBERS,
    min: 2,
    max: 1000,
  }),
  statsMs: f.ms('HISTORY_STATS_INTERVAL', 'Period of the ops.stats heartbeat', { default: 2000 }),
};

export type HistoryConfig = ReturnType<typeof loadHistoryConfig>;

export function loadHistoryConfig(env: Env) {
  const cfg = loadConfig(historySchema, env);
  const problems = authProblems(cfg);
  if (cfg.retryMaxMs < cfg.retryMinMs) problems.push('HISTORY_RETRY_MAX: must be >= HISTORY_RETRY_MIN');
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}
