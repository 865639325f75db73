import { describe, expect, it } from 'vitest';
import { Counter, createRegistry, Histogram, LATENCY_BUCKETS_MS } from './index.ts';

describe('createRegistry', () => {
  it('labels every metric with service and instance and includes default metrics', async () => {
    const registry = createRegistry('gateway', 'gw-1');
    const frames = new Counter({ name: 'parley_frames_in_total', help: 'frames in', registers: [registry] });
    frames.inc(3);
    const text = await registry.metrics();
    expect(text).toContain('parley_frames_in_total{service="gateway",instance="gw-1"} 3');
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="gateway",instance="gw-1"\}/);
  });

  it('keeps registries apart, so several services can share a process', async () => {
    const a = createRegistry('history', 'h');
    const b = createRegistry('notify', 'n');
    new Counter({ name: 'only_in_a', help: 'a', registers: [a] }).inc();
    expect(await a.metrics()).toContain('only_in_a');
    expect(await b.metrics()).not.toContain('only_in_a');
  });
});

describe('LATENCY_BUCKETS_MS', () => {
  it('spans 0.5 ms to 5 s in ascending order and is usable as histogram buckets', async () => {
    expect(LATENCY_BUCKETS_MS[0]).toBe(0.5);
    expect(LATENCY_BUCKETS_MS.at(-1)).toBe(5000);
    expect([...LATENCY_BUCKETS_MS].sort((x, y) => x - y)).toEqual(LATENCY_BUCKETS_MS);
    expect(Object.isFrozen(LATENCY_BUCKETS_MS)).toBe(true);
    const registry = createRegistry('t', 't');
    const h = new Histogram({
      name: 'lat_ms',
      help: 'l',
      buckets: LATENCY_BUCKETS_MS,
      registers: [registry],
    });
    h.observe(3);
    expect(await registry.metrics()).toContain('lat_ms_bucket{le="5",service="t",instance="t"} 1');
  });
});
