/** Gateway settings: the shared ones (ARCHITECTURE §6) plus limits, timeouts and drain. */
import {
  authProblems,
  ConfigError,
  chatWindowProblems,
  commonFields,
  type Env,
  f,
  loadConfig,
} from '@parley/config';
import { DEFAULT_LIMITS, DEFAULT_MAX_ROOM_MEMBERS } from '@parley/protocol';

export const gatewaySchema = {
  ...commonFields,
  port: f.int('GATEWAY_PORT', 'HTTP and WebSocket port', { default: 8080, min: 0, max: 65535 }),
  host: f.str('GATEWAY_HOST', 'Address to listen on', { default: '0.0.0.0' }),
  allowedOrigins: f.list('ALLOWED_ORIGINS', 'Origins allowed to open WebSockets (empty = any; * = any)', {
    default: [],
  }),
  frameBytes: f.int('LIMIT_FRAME_BYTES', 'Largest client frame; bigger closes with 1009', {
    default: DEFAULT_LIMITS.frameBytes,
    min: 1024,
  }),
  bodyChars: f.int('LIMIT_BODY_CHARS', 'Longest string message body', {
    default: DEFAULT_LIMITS.bodyChars,
    min: 1,
  }),
  bodyObjectBytes: f.int('LIMIT_BODY_OBJECT_BYTES', 'Largest JSON-object message body', {
    default: DEFAULT_LIMITS.bodyObjectBytes,
    min: 64,
  }),
  roomsPerConnection: f.int('LIMIT_ROOMS_PER_CONNECTION', 'Rooms one connection may join', {
    default: DEFAULT_LIMITS.roomsPerConnection,
    min: 1,
  }),
  publishPerSecond: f.int('LIMIT_PUBLISH_PER_SECOND', 'Sustained publishes per connection', {
    default: DEFAULT_LIMITS.publishPerSecond,
    min: 1,
  }),
  publishBurst: f.int('LIMIT_PUBLISH_BURST', 'Publish burst per connection', {
    default: DEFAULT_LIMITS.publishBurst,
    min: 1,
  }),
  typingPerSecond: f.int('LIMIT_TYPING_PER_SECOND', 'Typing frames per connection per second', {
    default: DEFAULT_LIMITS.typingPerSecond,
    min: 1,
  }),
  requestsPerSecond: f.int(
    'LIMIT_REQUESTS_PER_SECOND',
    'Other requests (join, history, ...) per connection per second',
    {
      default: 20,
      min: 1,
    },
  ),
  connectionsPerUser: f.int('LIMIT_CONNECTIONS_PER_USER', 'Connections per user on this gateway', {
    default: DEFAULT_LIMITS.connectionsPerUser,
    min: 1,
  }),
  connectionsPerInstance: f.int('LIMIT_CONNECTIONS_PER_INSTANCE', 'Connections this gateway accepts', {
    default: 19_000,
    min: 1,
  }),
  maxRoomMembers: f.int('MAX_ROOM_MEMBERS', 'Members of a user-limited room (dm#a,b)', {
    default: DEFAULT_MAX_ROOM_MEMBERS,
    min: 2,
    max: 1000,
  }),
  abuseStrikes: f.int('ABUSE_STRIKES', 'Limit violations within ABUSE_WINDOW before closing with 4008', {
    default: 50,
    min: 1,
  }),
  abuseWindowMs: f.ms('ABUSE_WINDOW', 'Window for ABUSE_STRIKES', { default: 10_000 }),
  heartbeatMs: f.ms('HEARTBEAT_INTERVAL', 'Client ping interval hint; idle sockets are closed after 2x', {
    default: 30_000,
  }),
  sendBufferBytes: f.int(
    'SEND_BUFFER_LIMIT',
    'Per-socket send buffer; chat traffic beyond it closes with 4010',
    {
      default: 1024 * 1024,
      min: 16 * 1024,
    },
  ),
  ephemeralBufferBytes: f.int(
    'EPHEMERAL_BUFFER_LIMIT',
    'Send buffer above which typing/presence frames are dropped',
    {
      default: 64 * 1024,
      min: 1024,
    },
  ),
  requestTimeoutMs: f.ms('REQUEST_TIMEOUT', 'Timeout of requests to NATS and the other services', {
    default: 3000,
  }),
  replayCap: f.int('REPLAY_CAP', 'Most messages a join replays; beyond it recovered:false', {
    default: 1000,
    min: 1,
  }),
  roomLingerMs: f.ms('ROOM_LINGER', 'How long a room subscription outlives its last local member', {
    default: 5000,
  }),
  drainMs: f.ms('DRAIN_PERIOD', 'Drain period on SIGTERM: connections are closed in batches over it', {
    default: 10_000,
  }),
  presenceHeartbeatMs: f.ms('PRESENCE_HEARTBEAT', 'Gateway heartbeat to the presence service', {
    default: 2000,
  }),
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(env: Env) {
  const cfg = loadConfig(gatewaySchema, env);
  const problems = [...authProblems(cfg), ...chatWindowProblems(cfg)];
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}
