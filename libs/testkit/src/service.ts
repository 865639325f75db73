/**
 * A Parley service as a child process (`node --import tsx <entry>`, not the tsx CLI, which forks:
 * SIGKILL must hit the service itself), for tests that kill -9 or SIGTERM it and read its exit code.
 * Output goes to a log file in the OS temp dir, quoted when the service fails to start; every child
 * is SIGKILLed when this process exits, whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface ServiceChild {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code and signal once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `sig` if the process is still running. */
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL if still running; resolves once it has exited. */
  kill(): Promise<void>;
}

export interface ServiceSpec {
  /** Names the log file and the start-up errors: `gateway`, `history`. */
  name: string;
  /** Entry file, relative to the repository root. */
  entry: string;
  /** The service's whole environment besides PATH and HOME (nothing else leaks in from the test). */
  env: Record<string, string>;
  /** Polled until it answers 2xx: the service's /healthz or /readyz. */
  readyUrl: string;
  timeoutMs?: number;
}

/** Starts the service; resolves once `readyUrl` answers, or kills it and throws with its log's tail. */
export async function spawnService(spec: ServiceSpec): Promise<ServiceChild> {
  const logFile = join(tmpdir(), `parley-${spec.name}-${process.pid}-${Date.now()}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', spec.entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...spec.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  live.add(child);
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = true;
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const svc: ServiceChild = {
    child,
    logFile,
    exited,
    signal,
    kill: async () => {
      signal('SIGKILL');
      await exited;
    },
  };
  const timeoutMs = spec.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ended) throw new Error(`${spec.name} exited before it was ready:\n${tailLog(logFile)}`);
    const ok = await fetch(spec.readyUrl).then(
      (r) => r.ok,
      () => false, // not listening yet
    );
    if (ok) return svc;
    if (Date.now() > deadline) {
      await svc.kill();
      throw new Error(`${spec.name} not ready after ${timeoutMs / 1000} s:\n${tailLog(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last `lines` lines of a log file, for an error message. */
function tailLog(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}
