import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../util.ts';

export type Log = (line: string) => void;

/** Thrown when a server cannot be installed; the message says what failed and how to fix it. */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

/** Where provisioning commands write their full output (shown in errors). */
export function provisionLog(): string {
  return join(cacheDir('logs'), 'provision.log');
}

/** Runs a command to completion, output appended to the provision log; rejects with its tail. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  const logFile = provisionLog();
  appendFileSync(logFile, `\n$ ${cmd} ${args.join(' ')}  (cwd ${opts.cwd ?? process.cwd()})\n`);
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? 15 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        appendFileSync(logFile, `${stdout}${stderr}`);
        if (!err) return resolve(stdout);
        const tail = `${stdout}${stderr}`.trimEnd().split('\n').slice(-15).join('\n');
        // err.message repeats the command and all of stderr; the tail is enough, the log has the rest.
        const how = err.killed ? 'timed out' : `exited with code ${err.code}`;
        reject(new ProvisionError(`\`${cmd} ${args.join(' ')}\` ${how}:\n${tail}\nFull log: ${logFile}`));
      },
    );
  });
}

/** Runs a quick probe command (e.g. `--version`); resolves to stdout+stderr, or undefined if it fails. */
export function tryRun(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve(err ? undefined : `${stdout}${stderr}`);
    });
  });
}

/** Go settings: module downloads inside the parley cache (writable, so `rm -rf` of the cache works),
 * static binaries (no cgo toolchain needed). */
export function goEnv(): NodeJS.ProcessEnv {
  return {
    GOMODCACHE: cacheDir('go', 'mod'),
    GOFLAGS: '-modcacherw -buildvcs=false',
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
  };
}

/** Memoizes an async installer per process so parallel starts share one install. */
export function once<A extends unknown[], T>(fn: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  let p: Promise<T> | undefined;
  return (...args) => {
    p ??= fn(...args).catch((err) => {
      p = undefined;
      throw err;
    });
    return p;
  };
}
