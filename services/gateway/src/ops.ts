/**
 * The cluster view behind `/ops`. Every service publishes a stats heartbeat on `ops.stats`
 * (`{service, instance, ts, ...}` every ~2 s); each gateway keeps the last few minutes of them per
 * instance in memory and serves them at `GET /v1/ops/stats` (admin JWT). The gateway also samples
 * and publishes its own heartbeat (connections, frame and delivery rates, memory, event-loop lag,
 * top local rooms, close and error rates by code).
 *
 * Guarantees: memory is bounded (at most MAX_INSTANCES instances x historyMs / period samples, and
 * oversized or malformed heartbeats are dropped); an instance silent for longer than the history
 * is forgotten. The data is best effort (core NATS, at most once): a lost heartbeat is a gap in a
 * chart, nothing more.
 */

import type * as uWS from 'uWebSockets.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { bearerToken, hasScope, type Verifier } from '@parley/auth';
import type { Bus, Subscription } from '@parley/bus';
import { Subjects } from '@parley/protocol';
import type { GatewayMetrics } from './metrics.ts';

/** One heartbeat as published on ops.stats; fields beyond the three named ones vary by service. */
export interface StatsSample {
  service: string;
  instance: string;
  ts: number;
  [field: string]: unknown;
}

export interface OpsSnapshot {
  now: number;
  /** This gateway's instance id (the one answering). */
  self: string;
  periodMs: number;
  historyMs: number;
  instances: { service: string; instance: string; last: StatsSample; history: StatsSample[] }[];
}

/** What the gateway sampler reads; the Gateway supplies these from its connections and metrics. */
export interface GatewaySources {
  metrics: GatewayMetrics;
  /** Local connections with their rooms. */
  conns(): Iterable<{ readonly rooms: ReadonlySet<string> }>;
  draining(): boolean;
}

export interface OpsOptions {
  bus: Bus;
  instance: string;
  sources: GatewaySources;
  periodMs?: number;
  historyMs?: number;
  now?: () => number;
}

const MAX_INSTANCES = 256;
const MAX_SAMPLE_BYTES = 16 * 1024;
const TOP_ROOMS = 10;
const LOOP_RESOLUTION_MS = 10;

/** Parses one ops.stats payload; undefined when it is not a plausible heartbeat. */
export function parseSample(text: string): StatsSample | undefined {
  if (text.length > MAX_SAMPLE_BYTES) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const s = v as Record<string, unknown>;
  if (typeof s.service !== 'string' || !/^[\w.-]{1,64}$/.test(s.service)) return undefined;
  if (typeof s.instance !== 'string' || s.instance.length === 0 || s.instance.length > 200) return undefined;
  if (typeof s.ts !== 'number' || !Number.isFinite(s.ts)) return undefined;
  return s as StatsSample;
}

type Labelled = { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> };

async function byLabel(c: Labelled, label: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await c.get()).values) {
    const k = String(v.labels[label] ?? '');
    out.set(k, (out.get(k) ?? 0) + v.value);
  }
  return out;
}

async function total(c: Labelled): Promise<number> {
  let sum = 0;
  for (const v of (await c.get()).values) sum += v.value;
  return sum;
}

/** Histogram _sum and _count (for the period's mean latency). */
async function sumCount(h: Labelled): Promise<[number, number]> {
  let sum = 0;
  let count = 0;
  for (const v of (await h.get()).values) {
    const name = (v as { metricName?: string }).metricName ?? '';
    if (name.endsWith('_sum')) sum += v.value;
    else if (name.endsWith('_count')) count += v.value;
  }
  return [sum, count];
}

interface Counters {
  at: number;
  framesIn: number;
  publishes: number;
  deliveries: number;
  ack: [number, number];
  deliver: [number, number];
  closes: Map<string, number>;
  errors: Map<string, number>;
}

/** Samples this gateway: rates are deltas of its Prometheus counters over the last period. */
export class GatewaySampler {
  private readonly loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private prev: Counters | undefined;

  constructor(
    private readonly instance: string,
    private readonly src: GatewaySources,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.loop.enable();
  }

  stop(): void {
    this.loop.disable();
  }

  private async counters(): Promise<Counters> {
    const m = this.src.metrics;
    const frames = await byLabel(m.framesIn as unknown as Labelled, 'type');
    let framesIn = 0;
    for (const v of frames.values()) framesIn += v;
    return {
      at: this.now(),
      framesIn,
      publishes: frames.get('publish') ?? 0,
      deliveries: await total(m.deliveries as unknown as Labelled),
      ack: await sumCount(m.publishAck as unknown as Labelled),
      deliver: await sumCount(m.publishDeliver as unknown as Labelled),
      closes: await byLabel(m.closes as unknown as Labelled, 'code'),
      errors: await byLabel(m.errors as unknown as Labelled, 'code'),
    };
  }

  async sample(): Promise<StatsSample> {
    const cur = await this.counters();
    const prev = this.prev ?? { ...cur, closes: new Map(), errors: new Map() };
    this.prev = cur;
    const secs = Math.max(0.001, (cur.at - prev.at) / 1000);
    const rate = (a: number, b: number) => Math.round(((a - b) / secs) * 10) / 10;
    const rates = (a: Map<string, number>, b: Map<string, number>) => {
      const out: Record<string, number> = {};
      for (const [k, v] of a) {
        const r = rate(v, b.get(k) ?? 0);
        if (r > 0) out[k] = r;
      }
      return out;
    };
    const mean = (a: [number, number], b: [number, number]) =>
      a[1] > b[1] ? Math.round(((a[0] - b[0]) / (a[1] - b[1])) * 100) / 100 : null;

    let connections = 0;
    const members = new Map<string, number>();
    for (const c of this.src.conns()) {
      connections++;
      for (const r of c.rooms) members.set(r, (members.get(r) ?? 0) + 1);
    }
    const topRooms = [...members]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP_ROOMS)
      .map(([room, n]) => ({ room, members: n }));

    // The histogram records whole timer intervals: subtract the resolution to get the delay.
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) : 0);
    const lag = { mean: ms(this.loop.mean), p99: ms(this.loop.percentile(99)), max: ms(this.loop.max) };
    this.loop.reset();
    const mem = process.memoryUsage();
    return {
      service: 'gateway',
      instance: this.instance,
      ts: cur.at,
      connections,
      rooms: members.size,
      framesInPerSec: rate(cur.framesIn, prev.framesIn),
      publishesPerSec: rate(cur.publishes, prev.publishes),
      deliveriesPerSec: rate(cur.deliveries, prev.deliveries),
      publishAckMs: mean(cur.ack, prev.ack),
      publishDeliverMs: mean(cur.deliver, prev.deliver),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      eventLoopLagMs: Math.round(lag.mean * 100) / 100,
      eventLoopLagP99Ms: Math.round(lag.p99 * 100) / 100,
      eventLoopLagMaxMs: Math.round(lag.max * 100) / 100,
      closesPerSec: rates(cur.closes, prev.closes),
      errorsPerSec: rates(cur.errors, prev.errors),
      draining: this.src.draining() ? 1 : 0,
      topRooms,
    };
  }
}

/** Keeps the cluster's recent heartbeats and publishes this gateway's own. */
export class OpsMonitor {
  readonly periodMs: number;
  readonly historyMs: number;
  private readonly byInstance = new Map<string, StatsSample[]>();
  private readonly sampler: GatewaySampler;
  private readonly now: () => number;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: OpsOptions) {
    this.periodMs = o.periodMs ?? 2000;
    this.historyMs = o.historyMs ?? 5 * 60_000;
    this.now = o.now ?? Date.now;
    this.sampler = new GatewaySampler(o.instance, o.sources, this.now);
  }

  start(): void {
    this.sampler.start();
    this.sub = this.o.bus.subscribe(Subjects.opsStats, (msg) => {
      const s = parseSample(msg.string());
      // Our own samples are recorded directly (they still show when NATS is down).
      if (s && !(s.service === 'gateway' && s.instance === this.o.instance)) this.record(s);
    });
    this.timer = setInterval(() => void this.tick(), this.periodMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sub?.unsubscribe();
    this.sampler.stop();
  }

  /** Samples this gateway, records and publishes the sample; never throws. */
  async tick(): Promise<StatsSample | undefined> {
    try {
      const s = await this.sampler.sample();
      this.record(s);
      if (this.o.bus.connected) this.o.bus.publish(Subjects.opsStats, JSON.stringify(s));
      return s;
    } catch {
      return undefined;
    }
  }

  record(s: StatsSample): void {
    const key = `${s.service}\u0000${s.instance}`;
    let h = this.byInstance.get(key);
    if (!h) {
      if (this.byInstance.size >= MAX_INSTANCES) this.prune();
      if (this.byInstance.size >= MAX_INSTANCES) return;
      h = [];
      this.byInstance.set(key, h);
    }
    h.push(s);
    const cutoff = this.now() - this.historyMs;
    let drop = 0;
    while (drop < h.length - 1 && (h[drop]?.ts ?? 0) < cutoff) drop++;
    if (drop > 0) h.splice(0, drop);
  }

  /** Forgets instances whose last heartbeat is older than the history. */
  private prune(): void {
    const cutoff = this.now() - this.historyMs;
    for (const [k, h] of this.byInstance) if ((h.at(-1)?.ts ?? 0) < cutoff) this.byInstance.delete(k);
  }

  /** Every live instance's latest sample and its history after `since` (all of it when 0). */
  snapshot(since = 0): OpsSnapshot {
    this.prune();
    const instances: OpsSnapshot['instances'] = [];
    for (const h of this.byInstance.values()) {
      const last = h.at(-1);
      if (!last) continue;
      instances.push({
        service: last.service,
        instance: last.instance,
        last,
        history: since > 0 ? h.filter((s) => s.ts > since) : [...h],
      });
    }
    instances.sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
    return {
      now: this.now(),
      self: this.o.instance,
      periodMs: this.periodMs,
      historyMs: this.historyMs,
      instances,
    };
  }
}

/** `GET /v1/ops/stats?since=<ms>`: the snapshot as JSON, for a token with scope `admin`. */
export function opsRoutes(app: uWS.TemplatedApp, ops: OpsMonitor, verifier: Verifier): void {
  app.get('/v1/ops/stats', (res, req) => {
    const token = bearerToken(req.getHeader('authorization') || undefined, undefined);
    const since = Number(req.getQuery('since') ?? 0);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const reply = (status: string, body: unknown) => {
      if (aborted) return;
      res.cork(() =>
        res
          .writeStatus(status)
          .writeHeader('content-type', 'application/json')
          .writeHeader('cache-control', 'no-store')
          .end(JSON.stringify(body)),
      );
    };
    verifier.verify(token).then(
      (id) => {
        if (!hasScope(id, 'admin')) return reply('403 Forbidden', { error: 'admin scope required' });
        reply('200 OK', ops.snapshot(Number.isFinite(since) && since > 0 ? since : 0));
      },
      (e: Error) => reply('401 Unauthorized', { error: e.message }),
    );
  });
}
