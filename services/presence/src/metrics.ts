/** The presence service's Prometheus metrics (issue 5 §7). Gauges read the tracker when scraped. */
import { Counter, createRegistry, Gauge, Histogram, type Registry } from '@parley/metrics';

export interface GaugeSources {
  onlineUsers(): number;
  connections(): number;
  rooms(): number;
  gatewaysAlive(): number;
  leader(): number;
}

export function createPresenceMetrics(instance: string, src: GaugeSources) {
  const registry: Registry = createRegistry('presence', instance);
  const r = [registry];
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: r,
      collect() {
        this.set(read());
      },
    });
  gauge('parley_presence_online_users', 'Users with at least one connection', src.onlineUsers);
  gauge('parley_presence_connections', 'Connections tracked', src.connections);
  gauge('parley_presence_rooms', 'Rooms with at least one member', src.rooms);
  gauge(
    'parley_presence_gateways_alive',
    'Gateways heard from within 3 heartbeat intervals',
    src.gatewaysAlive,
  );
  gauge('parley_presence_leader', '1 on the instance that emits events', src.leader);
  return {
    registry,
    events: new Counter({
      name: 'parley_presence_events_total',
      help: 'Presence events published, by frame type',
      labelNames: ['type'],
      registers: r,
    }),
    coalesced: new Counter({
      name: 'parley_presence_events_coalesced_total',
      help: 'Room events not sent because the room is large',
      registers: r,
    }),
    deltas: new Counter({ name: 'parley_presence_deltas_total', help: 'Deltas applied', registers: r }),
    malformed: new Counter({
      name: 'parley_presence_malformed_total',
      help: 'Malformed messages and deltas from gateways, by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    anomalies: new Counter({
      name: 'parley_presence_anomalies_total',
      help: 'Well-formed deltas that do not fit the state (unknown connection, repeated join...)',
      registers: r,
    }),
    resyncs: new Counter({
      name: 'parley_presence_resyncs_total',
      help: 'Snapshot requests to one gateway (new, out of step, or digest mismatch)',
      registers: r,
    }),
    expired: new Counter({
      name: 'parley_presence_gateways_expired_total',
      help: 'Gateways declared dead after 3 missed heartbeats',
      registers: r,
    }),
    rebuildSeconds: new Histogram({
      name: 'parley_presence_rebuild_seconds',
      help: 'Start-up rebuild from gateway snapshots, until ready',
      buckets: [0.5, 1, 2, 3, 5, 10, 30],
      registers: r,
    }),
  };
}

export type PresenceMetrics = ReturnType<typeof createPresenceMetrics>;
