/** Process figures from /proc: CPU (user+system, clock ticks of 10 ms) and RSS. */
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // CLK_TCK 100 on Linux

/** CPU time used so far by `pid`, in ms; 0 when the process is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** Resident set size of `pid` in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** /proc/meminfo in KiB by field (MemAvailable, Slab, SUnreclaim...): the kernel's side of a run. */
export function memInfoKiB(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1] as string] = Number(m[2]);
  }
  return out;
}

/** Busy CPU of the whole machine so far (all processes, ours and everyone else's), in ms. */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  const total = f.reduce((a, b) => a + b, 0);
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) * TICK_MS;
}

/** Samples CPU of several processes; `cores()` is the average number of busy cores since `start()`. */
export class CpuMeter {
  private marks = new Map<number, number>();
  private t0 = 0;
  private machine0 = 0;

  constructor(private readonly pids: () => Record<string, number[]>) {}

  start(): void {
    this.t0 = performance.now();
    this.marks.clear();
    this.machine0 = machineBusyMs();
    for (const list of Object.values(this.pids())) for (const p of list) this.marks.set(p, cpuMs(p));
  }

  cores(): Record<string, number> {
    const wall = Math.max(1, performance.now() - this.t0);
    const out: Record<string, number> = {};
    let ours = 0;
    for (const [name, list] of Object.entries(this.pids())) {
      let used = 0;
      // A process that exited reads 0: its share is lost (it shows under others), never negative.
      for (const p of list) used += Math.max(0, cpuMs(p) - (this.marks.get(p) ?? cpuMs(p)));
      out[name] = used / wall;
      ours += used;
    }
    const machine = machineBusyMs() - this.machine0;
    out.machine = machine / wall;
    // Everything on the box that is not part of this benchmark (other engineers' test runs).
    out.others = Math.max(0, machine - ours) / wall;
    return out;
  }
}
