/** Runner side of the load generator: forks workers, spreads connections over them, sums their reports. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { ConnectCmd, Connected, FromWorker, WorkerStats } from './protocol.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Sockets per source address: well inside the 28k ephemeral ports per (source, destination). */
const PER_ADDR = 8000;
let nextAddr = 0;

/** A fresh 127.x.y.z address each call, so no scenario meets the previous one's TIME_WAIT ports. */
function freshAddr(): string {
  const n = 2 + nextAddr++;
  return `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

/** worker.ts and everything it imports (workspace TypeScript, jose) as one plain ESM file. */
function bundledWorker(): string {
  const out = fileURLToPath(new URL('../../dist/bench-loadgen/worker.mjs', import.meta.url));
  buildSync({
    entryPoints: [WORKER],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
  });
  return out;
}

export interface LoadStats {
  frames: number;
  /** Load-generator CPU over the measured span, in cores (1.0 = one core busy). */
  cpuCores: number;
  perWorkerCores: number[];
  hist: Map<number, number>;
  histOver: number;
  sockets: number;
  dropped: number;
  closes: Record<string, number>;
}

interface Worker {
  proc: ChildProcess;
  frames: number;
  waiters: Map<string, ((m: FromWorker) => void)[]>;
}

export class LoadGen {
  private constructor(private readonly workers: Worker[]) {}

  /**
   * `lean`, for runs with dozens of mostly idle workers, where per-process costs add up to gigabytes
   * of the box's memory: the worker bundled to plain JS (no tsx loaded in each, ~25 MiB) and a 1 MiB
   * young generation (V8 grows it to 32 MiB under a connect burst).
   */
  static async start(n: number, opts: { lean?: boolean } = {}): Promise<LoadGen> {
    const [file, execArgv] = opts.lean
      ? [bundledWorker(), ['--max-semi-space-size=1']]
      : [WORKER, ['--import', 'tsx']];
    const workers = Array.from({ length: n }, (): Worker => {
      const proc = fork(file, [], { execArgv, stdio: 'inherit' });
      const w: Worker = { proc, frames: 0, waiters: new Map() };
      proc.on('message', (raw) => {
        const m = raw as FromWorker;
        if (m.op === 'count') {
          w.frames = m.frames;
          return;
        }
        w.waiters.get(m.op)?.shift()?.(m);
      });
      return w;
    });
    return new LoadGen(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Frames received since the last reset (as of the workers' last 50 ms report). */
  get frames(): number {
    let s = 0;
    for (const w of this.workers) s += w.frames;
    return s;
  }

  pids(): number[] {
    return this.workers.map((w) => w.proc.pid ?? 0);
  }

  private ask<T extends FromWorker>(w: Worker, msg: unknown, reply: T['op']): Promise<T> {
    return new Promise((resolve) => {
      const list = w.waiters.get(reply) ?? [];
      list.push(resolve as (m: FromWorker) => void);
      w.waiters.set(reply, list);
      w.proc.send(msg as object);
    });
  }

  /**
   * Opens `total` connections, users `first`..`first+total-1`, split evenly over the workers
   * (or over `workers` of them, from the `from`th on). Resolves when every one is ready or failed.
   */
  async connect(
    spec: Omit<ConnectCmd, 'op' | 'first' | 'count' | 'addrs'> & { first: number; total: number },
    workers = this.workers.length,
    from = 0,
  ): Promise<{
    ok: number;
    failed: number;
    errors: string[];
    ms: number;
    signMs: number;
    /** Load-generator CPU while connecting, in cores. */
    cpuCores: number;
  }> {
    const use = this.workers.slice(from, from + workers);
    const per = Math.ceil(spec.total / use.length);
    const t0 = performance.now();
    const parts = await Promise.all(
      use.map((w, i) => {
        const count = Math.max(0, Math.min(per, spec.total - i * per));
        const addrs = Array.from({ length: Math.max(1, Math.ceil(count / PER_ADDR)) }, freshAddr);
        const { total: _t, first, ...rest } = spec;
        const cmd: ConnectCmd = { ...rest, op: 'connect', first: first + i * per, count, addrs };
        return this.ask<Connected>(w, cmd, 'connected');
      }),
    );
    const signMs = Math.max(...parts.map((p) => p.signMs));
    const wall = performance.now() - t0;
    return {
      ok: parts.reduce((s, p) => s + p.ok, 0),
      failed: parts.reduce((s, p) => s + p.failed, 0),
      errors: parts.flatMap((p) => p.errors).slice(0, 5),
      // Connect time excludes token signing (done first, in the workers); the slowest worker counts.
      ms: Math.min(wall, Math.max(...parts.map((p) => p.connectMs))),
      signMs,
      cpuCores:
        parts.reduce((s, p) => s + p.connectCpuUs, 0) / 1000 / Math.max(...parts.map((p) => p.connectMs), 1),
    };
  }

  async reset(latency?: boolean): Promise<void> {
    await Promise.all(this.workers.map((w) => this.ask(w, { op: 'reset', latency }, 'reset')));
    for (const w of this.workers) w.frames = 0;
  }

  async stats(): Promise<LoadStats> {
    const all = await Promise.all(
      this.workers.map((w) => this.ask<{ op: 'stats'; stats: WorkerStats }>(w, { op: 'stats' }, 'stats')),
    );
    const hist = new Map<number, number>();
    const closes: Record<string, number> = {};
    let histOver = 0;
    for (const { stats } of all) {
      for (const [b, c] of stats.hist) hist.set(b, (hist.get(b) ?? 0) + c);
      histOver += stats.histOver;
      for (const [k, v] of Object.entries(stats.closes)) closes[k] = (closes[k] ?? 0) + v;
    }
    const per = all.map(({ stats }) => stats.cpuUs / 1000 / Math.max(1, stats.wallMs));
    return {
      frames: all.reduce((s, { stats }) => s + stats.frames, 0),
      cpuCores: per.reduce((a, b) => a + b, 0),
      perWorkerCores: per,
      hist,
      histOver,
      sockets: all.reduce((s, { stats }) => s + stats.sockets, 0),
      dropped: all.reduce((s, { stats }) => s + stats.dropped, 0),
      closes,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.ask(w, { op: 'close' }, 'closed')));
  }

  exit(): void {
    for (const w of this.workers) if (w.proc.connected) w.proc.send({ op: 'exit' });
  }

  /** SIGKILL every worker: for an abort, when a worker may be too busy connecting to read `exit`. */
  kill(): void {
    for (const w of this.workers)
      if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
  }
}

/** p-th percentile (0..100) of a sparse µs histogram. */
export function percentile(hist: Map<number, number>, p: number): number {
  const keys = [...hist.keys()].sort((a, b) => a - b);
  const total = keys.reduce((s, k) => s + (hist.get(k) ?? 0), 0);
  if (total === 0) return Number.NaN;
  let seen = 0;
  const want = (p / 100) * total;
  for (const k of keys) {
    seen += hist.get(k) ?? 0;
    if (seen >= want) return k;
  }
  return keys.at(-1) ?? Number.NaN;
}
