/**
 * The history service as a child process (`node --import tsx services/history/src/main.ts`, not the
 * tsx CLI, so SIGKILL hits the service itself), for the kill -9 test. Output goes to a log file in
 * the OS temp dir; every child is SIGKILLed when this process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@parley/testkit';
import { historyEnv, sleep, type Urls } from './harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface ChildHistory {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** kill -9; resolves once the process has exited. */
  kill(): Promise<void>;
}

/** Starts a history process for `prefix`; resolves once its /readyz says ready. */
export async function spawnHistory(
  urls: Urls,
  prefix: string,
  extra: Record<string, string> = {},
): Promise<ChildHistory> {
  const port = await freePort();
  const logFile = join(tmpdir(), `parley-history-${prefix}-${port}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/history/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...historyEnv(urls, prefix, { HISTORY_PORT: String(port), ...extra }),
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`history exited early:\n${tail(logFile)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { child, logFile, kill };
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`history not ready after 60 s:\n${tail(logFile)}`);
    }
    await sleep(200);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
  } catch {
    return '(no output)';
  }
}
