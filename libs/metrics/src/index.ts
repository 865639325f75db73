export { Counter, createRegistry, Gauge, Histogram, LATENCY_BUCKETS_MS, Registry } from './metrics.ts';
