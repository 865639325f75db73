/** Presence settings: the shared ones (ARCHITECTURE §6) plus port, large rooms and timing. */
import { authProblems, ConfigError, commonFields, type Env, f, loadConfig } from '@parley/config';

export const presenceSchema = {
  ...commonFields,
  port: f.int('PRESENCE_PORT', 'HTTP port (queries, health, metrics); 0 = any free port', {
    default: 8082,
    min: 0,
    max: 65535,
  }),
  host: f.str('PRESENCE_HOST', 'Address to listen on', { default: '0.0.0.0' }),
  largeRoomMembers: f.int(
    'PRESENCE_LARGE_ROOM',
    'Rooms with more users than this get no per-user join/leave/update events (clients query presence)',
    { default: 1000, min: 1 },
  ),
  queryMaxUsers: f.int('PRESENCE_QUERY_MAX_USERS', 'Most users listed by a room query (count is exact)', {
    default: 1000,
    min: 1,
  }),
  instanceHeartbeatMs: f.ms(
    'PRESENCE_INSTANCE_HEARTBEAT',
    'Presence instances announce themselves this often',
    {
      default: 1000,
    },
  ),
  rebuildWindowMs: f.ms(
    'PRESENCE_REBUILD_WINDOW',
    'After a start, how long to collect gateway heartbeats and snapshots before serving (>= gateway heartbeat)',
    { default: 3000 },
  ),
  snapshotTimeoutMs: f.ms('PRESENCE_SNAPSHOT_TIMEOUT', 'Timeout of a snapshot request to one gateway', {
    default: 3000,
  }),
  statsIntervalMs: f.ms('PRESENCE_STATS_INTERVAL', 'Stats heartbeat on ops.stats', { default: 2000 }),
};

export type PresenceConfig = ReturnType<typeof loadPresenceConfig>;

export function loadPresenceConfig(env: Env) {
  const cfg = loadConfig(presenceSchema, env);
  const problems = authProblems(cfg);
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}
