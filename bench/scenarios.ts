/**
 * The scenarios. Each starts one system at a time (Parley, then the peers), so no two servers
 * compete for the two cores, and returns one row per system.
 */
import { CpuMeter, rssKiB } from './lib/proc.ts';
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

async function start(ctx: Ctx, name: SystemName): Promise<System> {
  if (name === 'parley' || name === 'parley-core')
    return startParley(ctx.natsUrl, ctx.natsPid, name === 'parley' ? 'append' : 'core');
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

/** Open loop at a fixed ingress rate; latency from the µs stamp in each body to its arrival. */
export async function latency(ctx: Ctx): Promise<Row[]> {
  const rows: Row[] = [];
  const rooms = 100;
  const members = 10;
  const rate = 10_000;
  const measureMs = ctx.quick ? 2000 : 5000;
  for (const sys of ['parley', 'parley-core', 'uws', 'ws'] as SystemName[]) {
    const s = await start(ctx, sys);
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
      meter.start();
      const t0 = performance.now();
      await sleep(measureMs);
      const st = await ctx.lg.stats();
      const secs = (performance.now() - t0) / 1000;
      const cpu = meter.cores();
      s.publisher.send({ op: 'stop' });
      const pub = await s.publisher.status();
      const p = (q: number) => percentile(st.hist, q);
      ctx.log(`latency ${sys}: p50 ${p(50)} µs, p99 ${p(99)} µs`);
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
          deliveriesPerSec: st.frames / secs,
          ingressPerSec: rate,
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
      const c = await ctx.lg.connect(
        { mode: s.mode, port: s.port, rooms: 1, first: 0, total, concurrency: 256, joinRooms: false },
        Math.min(4, ctx.lg.size),
      );
      const cpu = meter.cores();
      const rate = (c.ok / c.ms) * 1000;
      ctx.log(`connect ${sys}: ${c.ok}/${total} in ${c.ms.toFixed(0)} ms = ${Math.round(rate)}/s`);
      rows.push({
        scenario: 'connect',
        system: sys,
        value: rate,
        unit: 'connections/s',
        cpu,
        loadgenCores: c.cpuCores,
        extra: { total, ok: c.ok, failed: c.failed, errors: c.errors, ms: c.ms },
      });
      await ctx.lg.close();
    } finally {
      await s.stop();
    }
  }
  return rows;
}

/** RSS per process once the total stops moving (young-generation garbage of the connect burst collected). */
async function settledRss(pids: number[], maxMs: number): Promise<number[]> {
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
 * Idle capacity: authenticated connections spread over gateway processes of <= ~17k each; RSS
 * growth per connection, summed over the gateways. Raw uWS at one process's share for reference.
 */
export async function idle(ctx: Ctx): Promise<Row[]> {
  const total = ctx.quick ? 10_000 : 100_000;
  const perGw = 17_000;
  const n = Math.ceil(total / perGw);
  const share = Math.ceil(total / n);
  ctx.log(`idle: starting ${n} gateway processes for ${total} connections`);
  const gws = await Promise.all(
    Array.from({ length: n }, () =>
      startGatewayProc(ctx.natsUrl, { LIMIT_CONNECTIONS_PER_INSTANCE: '19000', PRESENCE_HEARTBEAT: '5000' }),
    ),
  );
  const rows: Row[] = [];
  try {
    await sleep(2000);
    const before = gws.map((g) => rssKiB(g.proc.pid ?? 0));
    const meter = new CpuMeter(() => ({
      server: gws.map((g) => g.proc.pid ?? 0),
      nats: [ctx.natsPid],
      loadgen: ctx.lg.pids(),
    }));
    meter.start();
    let ok = 0;
    let ms = 0;
    let lgCpu = 0;
    for (const [i, g] of gws.entries()) {
      const c = await ctx.lg.connect({
        mode: 'parley',
        port: g.port,
        rooms: 1,
        first: i * share,
        total: Math.min(share, total - i * share),
        concurrency: 64,
        joinRooms: false,
      });
      ok += c.ok;
      ms += c.ms;
      lgCpu = Math.max(lgCpu, c.cpuCores);
      ctx.log(
        `idle: gateway ${i + 1}/${n}: ${c.ok} connected (${c.failed} failed) in ${(c.ms / 1000).toFixed(1)} s`,
      );
    }
    const cpu = meter.cores();
    const after = await settledRss(
      gws.map((g) => g.proc.pid ?? 0),
      ctx.quick ? 5000 : 20_000,
    );
    const st = await ctx.lg.stats();
    const grown = after.reduce((s, a, i) => s + a - (before[i] ?? 0), 0);
    const perConn = (grown * 1024) / Math.max(1, ok);
    ctx.log(
      `idle parley: ${ok} connections, ${Math.round(perConn)} B RSS each (${st.sockets} client sockets open)`,
    );
    rows.push({
      scenario: 'idle',
      system: 'parley',
      value: perConn,
      unit: 'B RSS/conn',
      cpu,
      loadgenCores: lgCpu,
      extra: {
        connections: ok,
        gateways: n,
        rssBeforeKiB: before,
        rssAfterKiB: after,
        connectSeconds: ms / 1000,
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
    const r0 = rssKiB(u.serverPid);
    const c = await ctx.lg.connect({
      mode: 'plain',
      port: u.port,
      rooms: 1,
      first: 0,
      total: share,
      concurrency: 64,
    });
    await sleep(2000);
    const perConn = ((rssKiB(u.serverPid) - r0) * 1024) / Math.max(1, c.ok);
    ctx.log(`idle uws: ${c.ok} connections in one process, ${Math.round(perConn)} B RSS each`);
    rows.push({
      scenario: 'idle',
      system: 'uws',
      value: perConn,
      unit: 'B RSS/conn',
      cpu: {},
      loadgenCores: c.cpuCores,
      extra: { connections: c.ok, processes: 1 },
    });
    await ctx.lg.close();
  } finally {
    await u.stop();
  }
  return rows;
}
