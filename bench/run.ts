/**
 * `npm run bench [-- <scenario>...] [--quick]`: Parley's full path (gateway on real NATS JetStream
 * with RePublish) against raw uWebSockets.js, `ws` and Socket.IO in the same run. Prints a table and
 * writes bench/results/<scenario>.json. Scenarios: fanout, rooms, latency, connect, idle, and `moon`
 * (1M idle connections, see moon.ts), which only runs when named.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startNats } from '@parley/testkit';
import { LoadGen } from './loadgen/pool.ts';
import { moon } from './moon.ts';
import { type Ctx, connect, fanout, idle, latency, type Row } from './scenarios.ts';

const SCENARIOS: Record<string, (ctx: Ctx) => Promise<Row[]>> = {
  fanout: (ctx) => fanout(ctx, 'fanout', 1, 10_000),
  rooms: (ctx) => fanout(ctx, 'rooms', 1000, 10),
  latency,
  connect,
  idle,
  moon,
};
/** Not part of a plain `npm run bench`: it takes the whole box's memory for ~10 minutes. */
const ON_REQUEST = ['moon'];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const chosen = args.filter((a) => !a.startsWith('--'));
for (const c of chosen)
  if (!SCENARIOS[c]) throw new Error(`unknown scenario ${c}; one of ${Object.keys(SCENARIOS)}`);
const run = chosen.length > 0 ? chosen : Object.keys(SCENARIOS).filter((s) => !ON_REQUEST.includes(s));
const LIMIT_MS = (run.includes('moon') ? 30 : 14) * 60_000;
const t0 = performance.now();
const log = (line: string) =>
  console.log(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

const guard = setTimeout(() => {
  console.error(`[bench] over ${LIMIT_MS / 60_000} min; giving up`);
  process.exit(2);
}, LIMIT_MS);
guard.unref();

log(`scenarios: ${run.join(', ')}${quick ? ' (quick)' : ''}`);
const nats = await startNats();
const natsPid = (nats as unknown as { pid?: number }).pid ?? 0;
log(`nats-server ${nats.url} (pid ${natsPid})`);
// The moon scenario starts its own workers, one per gateway.
const lg = await LoadGen.start(run.every((s) => ON_REQUEST.includes(s)) ? 0 : 8);
const ctx: Ctx = { quick, natsUrl: nats.url, natsPid, lg, log };
const all: Row[] = [];
try {
  mkdirSync(RESULTS, { recursive: true });
  for (const name of run) {
    log(`== ${name}`);
    const rows = await (SCENARIOS[name] as (c: Ctx) => Promise<Row[]>)(ctx);
    all.push(...rows);
    writeFileSync(
      `${RESULTS}${name}.json`,
      `${JSON.stringify({ scenario: name, quick, at: new Date().toISOString(), rows }, null, 2)}\n`,
    );
  }
} finally {
  lg.exit();
  await nats[Symbol.asyncDispose]();
}
console.log(`\n${table(all)}`);
log('done');
process.exit(0);

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (unit.startsWith('µs')) return `${Math.round(v)} µs`;
  if (unit.startsWith('B ')) return `${(v / 1024).toFixed(2)} KiB`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k/s`;
  return `${Math.round(v)}/s`;
}

function int(v: unknown): string {
  return Math.round(Number(v)).toLocaleString('en-US');
}

function cores(v: number | undefined): string {
  return v === undefined ? '' : v.toFixed(2);
}

/** Markdown table: one line per scenario and system, Parley's ratio to each peer. */
export function table(rows: Row[]): string {
  const out = [
    "| scenario | system | result | Parley ÷ this | server CPU | NATS CPU | driver CPU | loadgen CPU | others' CPU | notes |",
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const parley = rows.find((x) => x.scenario === r.scenario && x.system === 'parley');
    const ratio = parley && r.system !== 'parley' ? parley.value / r.value : undefined;
    const lower = r.unit.startsWith('µs') || r.unit.startsWith('B ');
    const e = r.extra;
    const notes =
      r.scenario === 'latency'
        ? `${e.valid ? '' : '**not valid (fell behind the offered rate)**: '}p50 ${e.p50} µs, p99.9 ${e.p999} µs; ingress ${int(e.ingressPerSec)} of ${int(e.offeredPerSec)} msgs/s, ${int(e.deliveriesPerSec)} deliveries/s`
        : r.scenario === 'idle'
          ? `${e.connections} conns${e.gateways ? ` over ${e.gateways} gateways` : ', 1 process'}; ${(
              Number(e.overallBytesPerConn) / 1024
            ).toFixed(2)} KiB/conn over all connections`
          : r.scenario === 'moon'
            ? `${int(e.connections)} of ${int(e.target)} conns over ${e.gateways} gateways${e.aborted ? ` (aborted: ${e.aborted})` : ''}; ${int(e.overallBytesPerConn)} B/conn gateway growth, loadgen ${int(e.loadgenBytesPerConn)}, nats ${int(e.natsBytesPerConn)}, kernel Slab ${int(e.slabBytesPerConn)} B/conn; ${int(e.connectPerSec)} conns/s`
            : r.scenario === 'connect'
              ? `${e.ok}/${e.total} ok; server ${int(e.serverUsPerConn)} µs of CPU per connection`
              : `RSS ${e.serverRssPerConnBytes} B/member; closes ${JSON.stringify(e.closes)}`;
    out.push(
      `| ${r.scenario} | ${r.system} | ${fmt(r.value, r.unit)} | ${
        ratio === undefined ? '' : lower ? `${ratio.toFixed(2)}× (lower is better)` : `${ratio.toFixed(2)}×`
      } | ${cores(r.cpu.server)} | ${cores(r.cpu.nats)} | ${cores(r.cpu.driver)} | ${r.loadgenCores.toFixed(2)}${
        r.loadgenPerWorker ? ` (${r.loadgenPerWorker.map((c) => c.toFixed(2)).join('/')})` : ''
      } | ${cores(r.cpu.others)} | ${notes} |`,
    );
  }
  return out.join('\n');
}
