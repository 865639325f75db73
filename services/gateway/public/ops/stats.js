/**
 * The cluster as the ops page knows it: each instance's heartbeat samples, merged from the
 * snapshots of GET /v1/ops/stats, and the chart series derived from them.
 */
import { num } from './format.js';

export const POLL_MS = 2000;

export const cluster = {
  /** key "service/instance" -> { service, instance, last, history[] } */
  instances: new Map(),
  /** The newest sample seen: the next poll asks only for what came after it. */
  since: 0,
  historyMs: 5 * 60_000,
  /** The services' heartbeat period; the first snapshot gives the real one. */
  periodMs: POLL_MS,
  /** The server's clock at the last snapshot: charts and staleness are drawn against it. */
  now: Date.now(),
};

export function merge(snap) {
  cluster.historyMs = snap.historyMs;
  cluster.periodMs = snap.periodMs;
  cluster.now = snap.now;
  const { instances } = cluster;
  const seen = new Set();
  for (const i of snap.instances) {
    const key = `${i.service}/${i.instance}`;
    seen.add(key);
    const cur = instances.get(key) ?? { service: i.service, instance: i.instance, history: [] };
    const lastTs = cur.history.at(-1)?.ts ?? 0;
    for (const s of i.history) if (s.ts > lastTs) cur.history.push(s);
    const cutoff = snap.now - cluster.historyMs;
    while (cur.history.length > 1 && cur.history[0].ts < cutoff) cur.history.shift();
    cur.last = i.last;
    instances.set(key, cur);
  }
  for (const k of instances.keys()) if (!seen.has(k)) instances.delete(k);
  cluster.since = Math.max(cluster.since, ...[...instances.values()].map((i) => i.last?.ts ?? 0));
}

/** Signed out or in again: start from an empty view. */
export function resetCluster() {
  cluster.instances.clear();
  cluster.since = 0;
}

export const ofService = (svc) => [...cluster.instances.values()].filter((i) => i.service === svc);

/** True when the sample is older than three heartbeat periods: its instance has gone quiet. */
export const stale = (s) => cluster.now - (s?.ts ?? 0) > 3 * cluster.periodMs;

/** Per-instance rate of a cumulative counter field, from consecutive samples. */
export function rateSeries(hist, field) {
  const out = [];
  for (let k = 1; k < hist.length; k++) {
    const a = hist[k - 1];
    const b = hist[k];
    const dt = (b.ts - a.ts) / 1000;
    if (dt > 0) out.push([b.ts, Math.max(0, (num(b[field]) - num(a[field])) / dt)]);
  }
  return out;
}

export const series = (hist, pick) =>
  hist.map((s) => [s.ts, pick(s)]).filter(([, v]) => typeof v === 'number');

/** Sums the series of several instances into one, on the heartbeat period grid. */
export function sumSeries(list) {
  const { periodMs } = cluster;
  const buckets = new Map();
  for (const pts of list) {
    const seen = new Map();
    for (const [t, v] of pts) seen.set(Math.round(t / periodMs), v); // last sample per bucket
    for (const [b, v] of seen) buckets.set(b, (buckets.get(b) ?? 0) + v);
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([b, v]) => [b * periodMs, v]);
}
