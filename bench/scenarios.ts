/**
 * The scenarios. Each starts one system at a time (Parley, then the peers), so no two servers
 * compete for the two cores, and returns one row per system.
 */
import { CpuMeter, cpuMs, rssKiB } from './lib/proc.ts';
import {
  kill,
  type System,
  type SystemName,
  startGatewayProc,
  startParley,
  startPeer,
} from './lib/systems.ts';
import { type LoadGen, percentile } from './loadgen/pool.ts';

export interface Ctx {
  quick: boolean;
  natsUrl: string;
  natsPid: number;
  lg: LoadGen;
  log(line: string): void;
}

export interface Row {
  scenario: string;
  system: SystemName;
  /** The headline figure (deliveries/s, connections/s, µs, bytes). */
  value: number;
  unit: string;
  /** Average busy cores over the measured span, by role (server, nats, driver). */
  cpu: Record<string, number>;
  loadgenCores: number;
  loadgenPerWorker?: number[];
  extra: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(ctx: Ctx, name: SystemName, drivers = 1): Promise<System> {
  if (name === 'parley' || name === 'parley-core')
    return startParley(ctx.natsUrl, ctx.natsPid, name === 'parley' ? 'append' : 'core', drivers);
  return startPeer(name);
}

const ALL: SystemName[] = ['parley', 'uws', 'ws', 'socket.io'];

/** Closed-loop fan-out: publishers may run at most `perSocket` messages ahead of what clients got. */
export async function fanout(ctx: Ctx, name: string, rooms: number, members: number): Promise<Row[]> {
  const rows: Row[] = [];
  const total = rooms * members;
  const warmMs = ctx.quick ? 500 : 1000;
  const measureMs = ctx.quick ? 1500 : 4000;
  const batch = rooms === 1 ? 32 : 8;
  const perSocket = 64;
  const workers = Math.min(4, ctx.lg.size);
  // Across many rooms the appends' client cost bounds ingress; parley-core shows the gateway alone.
  const systems: SystemName[] = rooms > 1 ? ['parley', 'parley-core', ...ALL.slice(1)] : ALL;
  for (const sys of systems) {
    const s = await start(ctx, sys);
    try {
      const rss0 = rssKiB(s.serverPid);
      const c = await ctx.lg.connect(
        { mode: s.mode, port: s.port, rooms, first: 0, total, concurrency: 128, joinRooms: true },
        workers,
      );
      ctx.log(`${name} ${sys}: ${c.ok}/${total} members ready in ${(c.ms / 1000).toFixed(1)} s`);
      if (c.failed > 0) ctx.log(`${name} ${sys}: ${c.failed} failed: ${c.errors.join('; ')}`);
      await sleep(300);
      const rssConn = ((rssKiB(s.serverPid) - rss0) * 1024) / Math.max(1, c.ok);
      let base = 0;
      const credit = setInterval(() => {
        s.publisher.send({
          op: 'credit',
          total: Math.floor((base + ctx.lg.frames + c.ok * perSocket) / members),
        });
      }, 5);
      s.publisher.send({ op: 'plan', rooms, batch });
      await sleep(warmMs);
      base += ctx.lg.frames;
      await ctx.lg.reset();
      const meter = new CpuMeter(() => ({ ...s.pids, loadgen: ctx.lg.pids() }));
      meter.start();
      const t0 = performance.now();
      for (let t = 0; t < measureMs; t += 1000) {
        await sleep(Math.min(1000, measureMs - t));
        const rate = ctx.lg.frames / ((performance.now() - t0) / 1000);
        ctx.log(`${name} ${sys}: ${Math.round(rate).toLocaleString('en-US')} deliveries/s so far`);
      }
      const st = await ctx.lg.stats();
      const secs = (performance.now() - t0) / 1000;
      const cpu = meter.cores();
      clearInterval(credit);
      s.publisher.send({ op: 'stop' });
      const pub = await s.publisher.status();
      rows.push({
        scenario: name,
        system: sys,
        value: st.frames / secs,
        unit: 'deliveries/s',
        cpu,
        loadgenCores: st.cpuCores,
        loadgenPerWorker: st.perWorkerCores,
        extra: {
          rooms,
          members,
          connected: c.ok,
          failed: c.failed,
          seconds: secs,
          published: pub.published,
          publisher: pub.extra,
          serverRssPerConnBytes: Math.round(rssConn),
          dropped: st.dropped,
          closes: st.closes,
        },
      });
      await sleep(300);
      await ctx.lg.close();
    } finally {
      await s.stop();
    }
  }
  return rows;
}

/**
 * Share of the offered rate that must get through for the latencies to describe the path rather
 * than a backlog (an open-loop run that falls behind measures its own queue).
 */
const VALID_SHARE = 0.95;

/**
 * Open loop at a fixed ingress rate; latency from the µs stamp in each body to its arrival. Parley's
 * appends come from BENCH_DRIVERS processes (default 2, rooms sharded over them), so one process's
 * CPU share does not cap ingress. Each row reports the ingress and deliveries actually achieved
 * over the measured span, and is marked invalid when either fell below VALID_SHARE of what was offered.
 */
export async function latency(ctx: Ctx): Promise<Row[]> {
  const rows: Row[] = [];
  const rooms = 100;
  const members = 10;
  const rate = Number(process.env.BENCH_LATENCY_RATE ?? 10_000);
  const drivers = Number(process.env.BENCH_DRIVERS ?? 2);
  const measureMs = ctx.quick ? 2000 : 5000;
  for (const sys of ['parley', 'parley-core', 'uws', 'ws'] as SystemName[]) {
    const s = await start(ctx, sys, drivers);
    try {
      const c = await ctx.lg.connect(
        {
          mode: s.mode,
          port: s.port,
          rooms,
          first: 0,
          total: rooms * members,
          concurrency: 64,
          joinRooms: true,
        },
        2,
      );
      ctx.log(`latency ${sys}: ${c.ok} members ready; ${rate} msgs/s into ${rooms} rooms of ${members}`);
      s.publisher.send({ op: 'plan', rooms, batch: 1, rate });
      await sleep(1000);
      await ctx.lg.reset(true);
      const meter = new CpuMeter(() => ({ ...s.pids, loadgen: ctx.lg.pids() }));
      const pub0 = await s.publisher.status();
      meter.start();
      const t0 = performance.now();
      await sleep(measureMs);
      const st = await ctx.lg.stats();
      const pub = await s.publisher.status();
      const secs = (performance.now() - t0) / 1000;
      const cpu = meter.cores();
      s.publisher.send({ op: 'stop' });
      // Appends count once acknowledged (stored); peers and core ingress once sent.
      const done = (x: typeof pub) => x.extra.acked ?? x.published;
      const ingressPerSec = (done(pub) - done(pub0)) / secs;
      const deliveriesPerSec = st.frames / secs;
      const valid = ingressPerSec >= VALID_SHARE * rate && deliveriesPerSec >= VALID_SHARE * rate * members;
      const p = (q: number) => percentile(st.hist, q);
      ctx.log(
        `latency ${sys}: p50 ${p(50)} µs, p99 ${p(99)} µs; ingress ${Math.round(ingressPerSec)}/${rate} msgs/s, ` +
          `${Math.round(deliveriesPerSec)}/${rate * members} deliveries/s${valid ? '' : ' (NOT VALID: fell behind)'}`,
      );
      rows.push({
        scenario: 'latency',
        system: sys,
        value: p(99),
        unit: 'µs p99',
        cpu,
        loadgenCores: st.cpuCores,
        loadgenPerWorker: st.perWorkerCores,
        extra: {
          p50: p(50),
          p90: p(90),
          p99: p(99),
          p999: p(99.9),
          over2s: st.histOver,
          offeredPerSec: rate,
          ingressPerSec,
          deliveriesPerSec,
          valid,
          drivers: s.pids.driver?.length ?? 0,
          published: pub.published,
          publisher: pub.extra,
          closes: st.closes,
        },
      });
      await ctx.lg.close();
    } finally {
      await s.stop();
    }
  }
  return rows;
}

/** Connections/s including upgrade and the first server frame (Parley: JWT verified, welcome sent). */
export async function connect(ctx: Ctx): Promise<Row[]> {
  const rows: Row[] = [];
  const total = ctx.quick ? 3000 : 10_000;
  for (const sys of ALL) {
    const s = await start(ctx, sys);
    try {
      const meter = new CpuMeter(() => ({ ...s.pids, loadgen: ctx.lg.pids() }));
      meter.start();
      const serverMs0 = cpuMs(s.serverPid);
      const c = await ctx.lg.connect(
        { mode: s.mode, port: s.port, rooms: 1, first: 0, total, concurrency: 256, joinRooms: false },
        Math.min(4, ctx.lg.size),
      );
      const cpu = meter.cores();
      // The rate depends on who saturates first (the load generator, on a shared box); the server's
      // CPU per connection does not (and excludes the workers' token signing, when the server idles).
      const serverUsPerConn = ((cpuMs(s.serverPid) - serverMs0) * 1000) / Math.max(1, c.ok);
      const rate = (c.ok / c.ms) * 1000;
      ctx.log(
        `connect ${sys}: ${c.ok}/${total} in ${c.ms.toFixed(0)} ms = ${Math.round(rate)}/s, ` +
          `server ${Math.round(serverUsPerConn)} µs of CPU per connection`,
      );
      rows.push({
        scenario: 'connect',
        system: sys,
        value: rate,
        unit: 'connections/s',
        cpu,
        loadgenCores: c.cpuCores,
        extra: { total, ok: c.ok, failed: c.failed, errors: c.errors, ms: c.ms, serverUsPerConn },
      });
      await ctx.lg.close();
    } finally {
      await s.stop();
    }
  }
  return rows;
}

/** RSS per process once the total stops moving (young-generation garbage of the connect burst collected). */
export async function settledRss(pids: number[], maxMs: number): Promise<number[]> {
  let last = pids.map(rssKiB);
  const end = performance.now() + maxMs;
  while (performance.now() < end) {
    await sleep(2000);
    const now = pids.map(rssKiB);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const stable = Math.abs(sum(now) - sum(last)) < sum(last) * 0.005;
    last = now;
    if (stable) break;
  }
  return last;
}

/**
 * Idle capacity: authenticated connections spread over gateway processes of <= ~17k each. Each
 * process is filled in two halves and its RSS read once it settles after each: the headline is the
 * second half's growth per connection (the marginal cost), because the first connections of a
 * process also pay one-off growth (V8's young generation expands to its 32 MiB cap during a connect
 * burst, hash tables double). The growth over all connections is reported beside it. Raw uWS is
 * measured the same way at one process's share.
 */
export async function idle(ctx: Ctx): Promise<Row[]> {
  const total = ctx.quick ? 10_000 : 100_000;
  const perGw = 17_000;
  const n = Math.ceil(total / perGw);
  const share = Math.ceil(total / n);
  const settleMs = ctx.quick ? 5000 : 20_000;
  ctx.log(`idle: starting ${n} gateway processes for ${total} connections`);
  const gws = await Promise.all(
    Array.from({ length: n }, () =>
      startGatewayProc(ctx.natsUrl, { LIMIT_CONNECTIONS_PER_INSTANCE: '19000', PRESENCE_HEARTBEAT: '5000' }),
    ),
  );
  const rows: Row[] = [];
  try {
    await sleep(2000);
    const pids = gws.map((g) => g.proc.pid ?? 0);
    const meter = new CpuMeter(() => ({ server: pids, nats: [ctx.natsPid], loadgen: ctx.lg.pids() }));
    meter.start();
    const counts = gws.map((_, i) => Math.min(share, total - i * share));
    const fill = (i: number, from: number, count: number) =>
      ctx.lg.connect({
        mode: 'parley',
        port: gws[i]?.port ?? 0,
        rooms: 1,
        first: i * share + from,
        total: count,
        concurrency: 64,
        joinRooms: false,
      });
    const halves = await twoHalves(ctx, pids, counts, settleMs, fill);
    const cpu = meter.cores();
    const st = await ctx.lg.stats();
    ctx.log(
      `idle parley: ${halves.ok} connections, ${Math.round(halves.marginal)} B RSS each (second halves), ` +
        `${Math.round(halves.overall)} B over all (${st.sockets} client sockets open)`,
    );
    rows.push({
      scenario: 'idle',
      system: 'parley',
      value: halves.marginal,
      unit: 'B RSS/conn',
      cpu,
      loadgenCores: halves.lgCpu,
      extra: {
        connections: halves.ok,
        gateways: n,
        overallBytesPerConn: Math.round(halves.overall),
        rssKiB: halves.rss,
        connectSeconds: halves.ms / 1000,
        clientSocketsOpen: st.sockets,
        closes: st.closes,
      },
    });
    await ctx.lg.close();
  } finally {
    await Promise.all(gws.map((g) => kill(g.proc)));
  }
  const u = await startPeer('uws');
  try {
    await sleep(1000);
    const halves = await twoHalves(ctx, [u.serverPid], [share], settleMs, (_i, from, count) =>
      ctx.lg.connect({ mode: 'plain', port: u.port, rooms: 1, first: from, total: count, concurrency: 64 }),
    );
    ctx.log(
      `idle uws: ${halves.ok} connections in one process, ${Math.round(halves.marginal)} B RSS each ` +
        `(second half), ${Math.round(halves.overall)} B over all`,
    );
    rows.push({
      scenario: 'idle',
      system: 'uws',
      value: halves.marginal,
      unit: 'B RSS/conn',
      cpu: {},
      loadgenCores: halves.lgCpu,
      extra: {
        connections: halves.ok,
        processes: 1,
        overallBytesPerConn: Math.round(halves.overall),
        rssKiB: halves.rss,
      },
    });
    await ctx.lg.close();
  } finally {
    await u.stop();
  }
  return rows;
}

/**
 * Fills every process with the first half of its connections, lets RSS settle, then the second
 * half. RSS (KiB) per process at start, after the first half and at the end; the growth per
 * connection over the second halves (marginal) and over everything (overall).
 */
async function twoHalves(
  ctx: Ctx,
  pids: number[],
  counts: number[],
  settleMs: number,
  fill: (i: number, from: number, count: number) => ReturnType<LoadGen['connect']>,
) {
  const start = pids.map(rssKiB);
  let ok = 0;
  let second = 0;
  let ms = 0;
  let lgCpu = 0;
  const half = async (first: boolean) => {
    for (const [i, count] of counts.entries()) {
      const lo = first ? 0 : Math.floor(count / 2);
      const hi = first ? Math.floor(count / 2) : count;
      const c = await fill(i, lo, hi - lo);
      ok += c.ok;
      if (!first) second += c.ok;
      ms += c.ms;
      lgCpu = Math.max(lgCpu, c.cpuCores);
      if (c.failed > 0) ctx.log(`idle: process ${i + 1}: ${c.failed} failed: ${c.errors.join('; ')}`);
    }
    return settledRss(pids, settleMs);
  };
  const mid = await half(true);
  const end = await half(false);
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    ok,
    ms,
    lgCpu,
    rss: { start, mid, end },
    marginal: ((sum(end) - sum(mid)) * 1024) / Math.max(1, second),
    overall: ((sum(end) - sum(start)) * 1024) / Math.max(1, ok),
  };
}
