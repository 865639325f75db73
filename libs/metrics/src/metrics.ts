/**
 * Prometheus registry per service. Each service gets its own registry (embedded mode runs four in
 * one process), labelled {service, instance} so one dashboard can aggregate or split by either.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Buckets for latency histograms in milliseconds, from sub-millisecond loopback to 5 s stalls.
 * Frozen at run time but typed `number[]` because prom-client's `buckets` option is (it only reads it).
 */
export const LATENCY_BUCKETS_MS = Object.freeze([
  0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
]) as number[];

export function createRegistry(service: string, instance: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, instance });
  collectDefaultMetrics({ register: registry });
  return registry;
}
