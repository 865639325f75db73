/**
 * Idle capacity moonshot (issue #9): BENCH_MOON_CONNS authenticated connections (default 1,000,000)
 * on this box. Open files are capped at 20,000 per process, so gateways hold at most
 * BENCH_MOON_PER_GW (19,000) each and the load generator runs one worker per gateway. Every gateway
 * is filled in two halves, in waves of BENCH_MOON_WAVE gateways at a time, with a progress line per
 * wave; RSS is read once it settles after each half (the second half gives the marginal cost, as in
 * the idle scenario). The run aborts, closing everything, when MemAvailable falls under
 * BENCH_MOON_MIN_AVAIL_GIB or a gateway dies, and reports how far it got.
 */
import { CpuMeter, memInfoKiB, rssKiB } from './lib/proc.ts';
import { bundledGateway, type GatewayProc, kill, startGatewayProc } from './lib/systems.ts';
import { LoadGen } from './loadgen/pool.ts';
import { type Ctx, type Row, settledRss } from './scenarios.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
const gib = (kib: number) => `${(kib / 1024 / 1024).toFixed(2)} GiB`;
const k = (n: number) => `${(n / 1000).toFixed(1)}k`;

function envNum(name: string, dflt: number): number {
  const raw = process.env[name];
  const v = raw === undefined ? dflt : Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}=${raw}: expected a number >= 0`);
  return v;
}

const alive = (g: GatewayProc) => g.proc.exitCode === null && g.proc.signalCode === null;

export async function moon(ctx: Ctx): Promise<Row[]> {
  const total = ctx.quick ? 20_000 : envNum('BENCH_MOON_CONNS', 1_000_000);
  const perGw = envNum('BENCH_MOON_PER_GW', 19_000);
  const wave = Math.max(1, envNum('BENCH_MOON_WAVE', 4));
  const floorKiB = envNum('BENCH_MOON_MIN_AVAIL_GIB', 3) * 1024 * 1024;
  const holdMs = envNum('BENCH_MOON_HOLD_S', 30) * 1000;
  // Tuning under test, e.g. --max-semi-space-size=1: a gateway's fixed cost times 53 is gigabytes.
  const gatewayNodeOptions = process.env.BENCH_MOON_GATEWAY_NODE_OPTIONS;
  const n = Math.ceil(total / perGw);
  const share = Math.ceil(total / n);
  const counts = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(share, total - i * share)));
  const t0 = performance.now();
  const mem0 = memInfoKiB();
  const gws: GatewayProc[] = [];
  let lg: LoadGen | undefined;
  // The runner's time guard calls process.exit, which unwinds nothing: SIGKILL what we started.
  const killAll = () => {
    lg?.kill();
    for (const g of gws) if (alive(g)) g.proc.kill('SIGKILL');
  };
  process.on('exit', killAll);

  let stop: string | undefined;
  let onAbort: () => void = () => {};
  const aborted = new Promise<void>((r) => {
    onAbort = r;
  });
  const halt = (why: string) => {
    if (stop) return;
    stop = why;
    ctx.log(`moon: ABORT: ${why}`);
    onAbort();
  };
  const monitor = setInterval(() => {
    const avail = memInfoKiB().MemAvailable ?? 0;
    if (avail < floorKiB) halt(`MemAvailable ${gib(avail)} fell under the ${gib(floorKiB)} floor`);
    const dead = gws.findIndex((g) => !alive(g));
    if (dead >= 0) {
      const p = gws[dead]?.proc;
      halt(`gateway ${dead + 1} exited (${p?.exitCode ?? p?.signalCode})`);
    }
  }, 1000);

  const gwPids = () => gws.map((g) => g.proc.pid ?? 0);
  const lgPids = () => lg?.pids() ?? [];
  const snapshot = (label: string, ok: number, rate: string) => {
    const m = memInfoKiB();
    ctx.log(
      `moon: ${label}: ${ok.toLocaleString('en-US')} connected${rate}; gateways ${gib(sum(gwPids().map(rssKiB)))} RSS, ` +
        `loadgen ${gib(sum(lgPids().map(rssKiB)))}, nats-server ${gib(rssKiB(ctx.natsPid))}, ` +
        `MemAvailable ${gib(m.MemAvailable ?? 0)}`,
    );
  };

  try {
    ctx.log(
      `moon: ${total.toLocaleString('en-US')} connections over ${n} gateways of <= ${share} and ${n} loadgen workers`,
    );
    // As the image runs it: tsx would add ~25 MiB to each of ~53 processes (89 vs 115 MiB idle).
    const gatewayArgv = bundledGateway('moon');
    // A few at a time: 50 cold starts at once on two shared cores would miss the 30 s readiness limit.
    for (let i = 0; i < n && !stop; i += 4) {
      const batch = await Promise.allSettled(
        counts.slice(i, i + 4).map(() =>
          startGatewayProc(
            ctx.natsUrl,
            {
              LIMIT_CONNECTIONS_PER_INSTANCE: String(perGw),
              PRESENCE_HEARTBEAT: '5000',
              ...(gatewayNodeOptions ? { NODE_OPTIONS: gatewayNodeOptions } : {}),
            },
            gatewayArgv,
          ),
        ),
      );
      for (const b of batch) if (b.status === 'fulfilled') gws.push(b.value);
      const bad = batch.find((b) => b.status === 'rejected');
      if (bad) throw bad.reason;
    }
    lg = await LoadGen.start(n, { lean: true });
    await sleep(3000);
    const meter = new CpuMeter(() => ({ server: gwPids(), nats: [ctx.natsPid], loadgen: lgPids() }));
    const base = { gw: gwPids().map(rssKiB), lg: sum(lgPids().map(rssKiB)), nats: rssKiB(ctx.natsPid) };
    const mem1 = memInfoKiB();
    snapshot(`${n} gateways and ${n} workers up in ${((performance.now() - t0) / 1000).toFixed(0)} s`, 0, '');
    meter.start();

    let ok = 0;
    let failed = 0;
    let connectMs = 0;
    let mid = base.gw;
    let secondOk = 0;
    const errors = new Set<string>();
    for (const pass of [0, 1]) {
      for (let i = 0; i < n && !stop; i += wave) {
        const idx = counts.slice(i, i + wave).map((_, j) => i + j);
        const w0 = performance.now();
        const fill = Promise.all(
          idx.map((g) => {
            const half = Math.floor((counts[g] ?? 0) / 2);
            const [lo, hi] = pass === 0 ? [0, half] : [half, counts[g] ?? 0];
            return (lg as LoadGen).connect(
              {
                mode: 'parley',
                port: gws[g]?.port ?? 0,
                rooms: 1,
                first: g * share + lo,
                total: hi - lo,
                concurrency: 64,
                joinRooms: false,
              },
              1,
              g,
            );
          }),
        );
        const parts = await Promise.race([fill, aborted.then(() => undefined)]);
        if (!parts) break;
        const ms = performance.now() - w0;
        const got = sum(parts.map((p) => p.ok));
        const bad = sum(parts.map((p) => p.failed));
        ok += got;
        failed += bad;
        if (pass === 1) secondOk += got;
        connectMs += ms;
        for (const e of parts.flatMap((p) => p.errors)) errors.add(e);
        snapshot(
          `pass ${pass + 1}/2, gateways ${i + 1}-${i + idx.length} of ${n}`,
          ok,
          ` (${k((got / ms) * 1000)}/s this wave, ${k((ok / connectMs) * 1000)}/s overall)`,
        );
        if (bad > 0)
          ctx.log(`moon: ${bad} failed in this wave: ${parts.flatMap((p) => p.errors).join('; ')}`);
        // A few refusals are noise; a wave that mostly fails means something ran out.
        if (bad > 0.01 * (got + bad)) halt(`${bad} of ${got + bad} connects failed in one wave`);
      }
      if (stop) break;
      const settled = await Promise.race([settledRss(gwPids(), 20_000), aborted]);
      if (pass === 0 && settled) mid = settled;
    }
    const connectSecs = connectMs / 1000;
    const cpu = meter.cores();
    if (!stop) {
      ctx.log(`moon: holding ${ok.toLocaleString('en-US')} connections for ${holdMs / 1000} s`);
      await Promise.race([sleep(holdMs), aborted]);
    }
    const end = gwPids().map(rssKiB);
    const lgEnd = sum(lgPids().map(rssKiB));
    const natsEnd = rssKiB(ctx.natsPid);
    const mem2 = memInfoKiB();
    const st = stop ? undefined : await lg.stats();
    const held = st?.sockets ?? ok;
    const per = (kib: number) => Math.round((kib * 1024) / Math.max(1, held));
    const gwGrowth = sum(end) - sum(base.gw);
    const availDrop = (mem1.MemAvailable ?? 0) - (mem2.MemAvailable ?? 0);
    // What MemAvailable lost beyond the RSS growth of our own processes: mostly the kernel's two
    // socket ends per connection (other tenants' memory moves it too, so it is an estimate).
    const kernel = availDrop - gwGrowth - (lgEnd - base.lg) - (natsEnd - base.nats);
    // NaN (null in the JSON) when the run stopped before any second half.
    const marginal = secondOk > 0 ? ((sum(end) - sum(mid)) * 1024) / secondOk : Number.NaN;
    ctx.log(
      `moon: ${stop ? `ABORTED (${stop}) at` : 'held'} ${held.toLocaleString('en-US')} connections` +
        `${failed ? ` (${failed} failed: ${[...errors].slice(0, 3).join('; ')})` : ''}; gateways ` +
        `${Math.round(marginal)} B/conn marginal, ${per(gwGrowth)} B/conn growth, ${per(sum(end))} B/conn ` +
        `with process baselines; loadgen ${per(lgEnd)} B/conn, nats-server ${per(natsEnd - base.nats)} B/conn; ` +
        `MemAvailable -${gib(availDrop)} (${per(availDrop)} B/conn, ~${per(kernel)} beyond our RSS), kernel ` +
        `Slab +${per((mem2.Slab ?? 0) - (mem1.Slab ?? 0))} B/conn; ` +
        `${k(ok / Math.max(connectSecs, 0.001))}/s over ${connectSecs.toFixed(0)} s of connecting`,
    );
    return [
      {
        scenario: 'moon',
        system: 'parley',
        value: marginal,
        unit: 'B RSS/conn',
        cpu,
        loadgenCores: cpu.loadgen ?? 0,
        extra: {
          target: total,
          connections: held,
          connected: ok,
          failed,
          errors: [...errors].slice(0, 5),
          aborted: stop ?? null,
          gateways: n,
          perGateway: share,
          workers: n,
          gatewayNodeOptions: gatewayNodeOptions ?? null,
          overallBytesPerConn: per(gwGrowth),
          withBaselineBytesPerConn: per(sum(end)),
          gatewayRssKiB: { base: sum(base.gw), mid: sum(mid), end: sum(end), perProcessEnd: end },
          loadgenRssKiB: { base: base.lg, end: lgEnd },
          loadgenBytesPerConn: per(lgEnd),
          natsRssKiB: { base: base.nats, end: natsEnd },
          natsBytesPerConn: per(natsEnd - base.nats),
          memAvailableKiB: { start: mem0.MemAvailable, up: mem1.MemAvailable, end: mem2.MemAvailable },
          memAvailableDropBytesPerConn: per(availDrop),
          kernelEstimateBytesPerConn: per(kernel),
          slabKiB: { up: mem1.Slab, end: mem2.Slab },
          slabBytesPerConn: per((mem2.Slab ?? 0) - (mem1.Slab ?? 0)),
          connectPerSec: ok / Math.max(connectSecs, 0.001),
          connectSeconds: connectSecs,
          totalSeconds: (performance.now() - t0) / 1000,
          closes: st?.closes,
          dropped: st?.dropped,
        },
      },
    ];
  } finally {
    clearInterval(monitor);
    lg?.kill();
    await Promise.all(gws.map((g) => kill(g.proc)));
    process.off('exit', killAll);
  }
}
