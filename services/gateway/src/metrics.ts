/** The gateway's Prometheus metrics (ARCHITECTURE §7, gateway issue §8). */
import {
  Counter,
  createRegistry,
  Gauge,
  Histogram,
  LATENCY_BUCKETS_MS,
  type Registry,
} from '@parley/metrics';

export function createGatewayMetrics(instance: string) {
  const registry: Registry = createRegistry('gateway', instance);
  const r = [registry];
  return {
    registry,
    connections: new Gauge({
      name: 'parley_gateway_connections',
      help: 'Open WebSocket connections',
      registers: r,
    }),
    connects: new Counter({
      name: 'parley_gateway_connects_total',
      help: 'Accepted connections',
      registers: r,
    }),
    joins: new Counter({ name: 'parley_gateway_joins_total', help: 'Room joins', registers: r }),
    framesIn: new Counter({
      name: 'parley_gateway_frames_in_total',
      help: 'Client frames by type',
      labelNames: ['type'],
      registers: r,
    }),
    framesOut: new Counter({
      name: 'parley_gateway_frames_out_total',
      help: 'Frames sent directly (not fan-out)',
      registers: r,
    }),
    deliveries: new Counter({
      name: 'parley_gateway_deliveries_total',
      help: 'Chat messages delivered to sockets',
      registers: r,
    }),
    publishAck: new Histogram({
      name: 'parley_gateway_publish_ack_ms',
      help: 'Publish frame to ack (JetStream PubAck) latency',
      buckets: LATENCY_BUCKETS_MS,
      registers: r,
    }),
    publishDeliver: new Histogram({
      name: 'parley_gateway_publish_deliver_ms',
      help: 'Message timestamp to fan-out on this gateway (sampled)',
      buckets: LATENCY_BUCKETS_MS,
      registers: r,
    }),
    recoveries: new Counter({
      name: 'parley_gateway_recoveries_total',
      help: 'Joins with since, by tier (window, history) and result',
      labelNames: ['tier', 'result'],
      registers: r,
    }),
    errors: new Counter({
      name: 'parley_gateway_errors_total',
      help: 'Error frames by code',
      labelNames: ['code'],
      registers: r,
    }),
    closes: new Counter({
      name: 'parley_gateway_closes_total',
      help: 'Closes by code',
      labelNames: ['code'],
      registers: r,
    }),
    rateLimited: new Counter({
      name: 'parley_gateway_rate_limited_total',
      help: 'Frames refused by a rate limit, by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    slowConsumers: new Counter({
      name: 'parley_gateway_slow_consumer_closes_total',
      help: 'Sockets closed with 4010',
      registers: r,
    }),
    ephemeralDropped: new Counter({
      name: 'parley_gateway_ephemeral_dropped_total',
      help: 'Times a congested socket was cut off from typing/presence frames',
      registers: r,
    }),
    natsSubscriptions: new Gauge({
      name: 'parley_gateway_nats_subscriptions',
      help: 'NATS subscriptions held',
      registers: r,
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
