/**
 * `npm run bench -w @parley/client`: messages/s one Node process receives through the SDK vs raw
 * clients on the same stream (issue 3: the SDK should reach >= 70% of a raw `ws` client).
 *
 * Processes: a private nats-server with JetStream; the gateway (services/gateway/src/main.ts) and
 * the main bench's driver (bench/drivers/jetstream.ts, core-NATS publishes into `chat.in.r0`, stored
 * and republished by stream CHAT) in processes of their own; one receiver process per round
 * (receiver.ts) with SOCKETS connections in room r0, so every stored message reaches the receiver
 * SOCKETS times and the one process doing the decoding is the bottleneck, not the pipeline (the
 * receiver's event-loop utilisation is reported to show that). The driver runs closed loop: at
 * most WINDOW messages per socket ahead of what the receiver has counted, so no send buffer grows
 * without bound. Same room, same bytes (bench/lib/body.ts) for every kind.
 *
 * Each round runs every kind once, in an order rotated per round; a row is WARMUP_MS of traffic,
 * then MEASURE_MS measured. Two figures per row: messages/s (wall clock; on a shared box it also
 * depends on how much CPU the receiver was given) and receiver CPU per message (process.cpuUsage),
 * whose inverse is what one whole core would receive. Each row's ratio to raw ws is taken within
 * a round (neighbours in time share the box's contention); the table shows medians over rounds.
 * Options (env): ROUNDS=5 SOCKETS=16 WINDOW=2000 WARMUP_MS=2000 MEASURE_MS=5000
 * KINDS=sdk,ws,websocket,sdk-ws PROFILE=<dir>. Writes bench/results/sdk.json and prints a Markdown
 * table.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startNats } from '@parley/testkit';
import { CpuMeter } from '../../../bench/lib/proc.ts';
import { kill, startParley } from '../../../bench/lib/systems.ts';
import { devToken } from '../test/gateways.ts';
import { KINDS as ALL_KINDS, type FromReceiver, type Kind, type ToReceiver } from './protocol.ts';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const ROUNDS = env('ROUNDS', 5);
const SOCKETS = env('SOCKETS', 16);
const WINDOW = env('WINDOW', 2000);
const WARMUP_MS = env('WARMUP_MS', 2000);
const MEASURE_MS = env('MEASURE_MS', 5000);
const KINDS = (process.env.KINDS ?? 'sdk,ws,websocket,sdk-ws').split(',') as Kind[];
for (const k of KINDS)
  if (!ALL_KINDS.includes(k)) throw new Error(`KINDS: unknown kind ${k}; use some of ${ALL_KINDS.join(',')}`);
if (!KINDS.includes('ws')) throw new Error('KINDS must include ws: every ratio is taken against raw ws');
/** A directory: each receiver runs with --cpu-prof and writes <kind>-<round>.cpuprofile there. */
const PROFILE = process.env.PROFILE;
/** Messages the driver may publish per tick (serve.ts); the credit is the real limit. */
const BATCH = 64;
/** The room serve.ts plans for one room. */
const ROOM = 'r0';
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const RECEIVER = fileURLToPath(new URL('./receiver.ts', import.meta.url));

interface Round {
  round: number;
  kind: Kind;
  messagesPerSec: number;
  /** Receiver CPU per message (process.cpuUsage), µs. */
  usPerMessage: number;
  receiverCores: number;
  elu: number;
  drops: number;
  /** Average busy cores over the window by process role, plus the machine and everyone else. */
  cpu: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const log = (line: string) =>
  console.log(`[sdk-bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);

const nats = await startNats({ own: true });
const natsPid = (nats as unknown as { pid?: number }).pid ?? 0;
const parley = await startParley(nats.url, natsPid, 'core');
const url = `ws://127.0.0.1:${parley.port}/ws`;
const tokens = await Promise.all(Array.from({ length: SOCKETS }, (_, i) => devToken(`bench-rx-${i}`)));
log(`nats ${nats.url}, gateway ${url}, ${SOCKETS} sockets per receiver, kinds ${KINDS.join(', ')}`);

const rounds: Round[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < KINDS.length; k++) {
      const kind = KINDS[(r + k) % KINDS.length] as Kind;
      const row = await measure(r + 1, kind);
      rounds.push(row);
      log(
        `round ${row.round} ${kind.padEnd(9)} ${fmt(row.messagesPerSec)} msgs/s, ${row.usPerMessage.toFixed(2)} µs/msg, ` +
          `receiver ${row.receiverCores.toFixed(2)} cores (ELU ${row.elu.toFixed(2)}), others ${row.cpu.others?.toFixed(2)}` +
          (row.drops > 0 ? `, ${row.drops} drops` : ''),
      );
    }
  }
} finally {
  await parley.stop();
  await nats[Symbol.asyncDispose]();
}

const summary = KINDS.map((kind) => {
  const of = rounds.filter((x) => x.kind === kind);
  const pick = (f: (x: Round) => number) => median(of.map(f));
  /** `f` of this kind ÷ `f` of raw ws in the same round, median over rounds. */
  const paired = (f: (x: Round) => number) =>
    median(of.map((x) => f(x) / f(rounds.find((w) => w.round === x.round && w.kind === 'ws') ?? x)));
  return {
    kind,
    messagesPerSec: pick((x) => x.messagesPerSec),
    vsWs: kind === 'ws' ? 1 : paired((x) => x.messagesPerSec),
    usPerMessage: pick((x) => x.usPerMessage),
    /** Messages per second of receiver CPU: what one fully available core would receive. */
    perCpuSecond: pick((x) => 1e6 / x.usPerMessage),
    perCpuVsWs: kind === 'ws' ? 1 : paired((x) => 1 / x.usPerMessage),
    receiverCores: pick((x) => x.receiverCores),
    elu: pick((x) => x.elu),
    gatewayCores: pick((x) => x.cpu.server ?? 0),
    natsCores: pick((x) => x.cpu.nats ?? 0),
    driverCores: pick((x) => x.cpu.driver ?? 0),
    othersCores: pick((x) => x.cpu.others ?? 0),
    drops: of.reduce((a, x) => a + x.drops, 0),
    perRound: of.map((x) => Math.round(x.messagesPerSec)),
  };
});
const conditions = {
  sockets: SOCKETS,
  window: WINDOW,
  warmupMs: WARMUP_MS,
  measureMs: MEASURE_MS,
  rounds: ROUNDS,
  node: process.version,
  cpus: cpus().length,
  loadavgAtEnd: loadavg().map((l) => Number(l.toFixed(1))),
};
mkdirSync(RESULTS, { recursive: true });
writeFileSync(
  `${RESULTS}sdk.json`,
  `${JSON.stringify({ at: new Date().toISOString(), conditions, summary, rounds }, null, 2)}\n`,
);
console.log(`\n${table(summary)}\n`);
log(`wrote ${RESULTS}sdk.json`);
process.exit(0);

/** One row: a fresh receiver of `kind`, joined; traffic; warm-up; the measured window. */
async function measure(round: number, kind: Kind): Promise<Round> {
  const prof = PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`, `--cpu-prof-name=${kind}-${round}.cpuprofile`]
    : [];
  const proc = fork(RECEIVER, [], { execArgv: ['--import', 'tsx', ...prof], stdio: 'inherit' });
  const driver = parley.publisher;
  try {
    const replies = listen(proc, (n) =>
      driver.send({ op: 'credit', total: Math.floor(n / SOCKETS) + WINDOW }),
    );
    send(proc, { op: 'start', kind, url, room: ROOM, tokens });
    await replies.next('ready');
    driver.send({ op: 'plan', rooms: 1, batch: BATCH });
    await sleep(WARMUP_MS);
    const meter = new CpuMeter(() => ({
      ...parley.pids,
      receiver: [proc.pid ?? 0],
      runner: [process.pid],
    }));
    meter.start();
    send(proc, { op: 'measure', ms: MEASURE_MS });
    const res = await replies.next('result');
    const cpu = meter.cores();
    driver.send({ op: 'stop' });
    if (res.op !== 'result') throw new Error('unreachable');
    return {
      round,
      kind,
      messagesPerSec: res.messages / (res.wallMs / 1000),
      usPerMessage: res.cpuUs / Math.max(1, res.messages),
      receiverCores: res.cpuUs / 1000 / res.wallMs,
      elu: res.elu,
      drops: res.drops,
      cpu,
    };
  } finally {
    driver.send({ op: 'stop' });
    await stop(proc);
    // Let the gateway flush what it still had for the killed sockets before the next receiver.
    await sleep(500);
  }
}

/** Disconnects (the receiver exits, writing its CPU profile if asked), killing it if it lingers. */
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  if (proc.connected) proc.disconnect();
  await Promise.race([exited, sleep(5000)]);
  await kill(proc);
}

function send(proc: ChildProcess, m: ToReceiver): void {
  proc.send(m);
}

/** Routes a receiver's counts to `onCount`; `next(op)` waits for its next `ready` or `result`. */
function listen(proc: ChildProcess, onCount: (n: number) => void) {
  let waiter: { op: string; resolve(m: FromReceiver): void; reject(e: Error): void } | undefined;
  proc.on('message', (raw: unknown) => {
    const m = raw as FromReceiver;
    if (m.op === 'count') return onCount(m.n);
    if (m.op === 'failed') return waiter?.reject(new Error(`receiver failed: ${m.error}`));
    if (waiter?.op === m.op) waiter.resolve(m);
  });
  proc.on('exit', (code) => waiter?.reject(new Error(`receiver exited with ${code}`)));
  return {
    next: (op: 'ready' | 'result') =>
      new Promise<FromReceiver>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`receiver: no ${op} within 60 s`)), 60_000);
        waiter = {
          op,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        };
      }),
  };
}

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

function table(rows: typeof summary): string {
  const out = [
    "| receiver | msgs/s | ÷ raw ws | µs CPU/msg | msgs per CPU-second | ÷ raw ws | receiver cores (ELU) | gateway / NATS / driver cores | others' cores | msgs/s per round |",
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const drops = r.drops > 0 ? ` (${r.drops} drops)` : '';
    out.push(
      `| ${r.kind} | ${fmt(r.messagesPerSec)} | ${r.vsWs.toFixed(2)} | ${r.usPerMessage.toFixed(2)} | ` +
        `${fmt(r.perCpuSecond)} | ${r.perCpuVsWs.toFixed(2)} | ${r.receiverCores.toFixed(2)} (${r.elu.toFixed(2)}) | ` +
        `${r.gatewayCores.toFixed(2)} / ${r.natsCores.toFixed(2)} / ${r.driverCores.toFixed(2)} | ` +
        `${r.othersCores.toFixed(2)} | ${r.perRound.map(fmt).join(', ')}${drops} |`,
    );
  }
  return out.join('\n');
}
