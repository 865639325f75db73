import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Retries `fn` until it stops throwing; rejects with the last error after `timeoutMs` (default 10 s). */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`${opts.message ?? 'eventually() timed out'} after ${timeoutMs} ms: ${why}`, {
          cause: err,
        });
      }
    }
    await sleep(intervalMs);
  }
}

/** `t` + 6 hex chars (+ `_label`): lowercase [a-z0-9_] only, so it is a valid NATS subject token,
 * Kafka topic part and Mongo database name; unique per call. */
export function uniquePrefix(label?: string): string {
  const id = `t${randomBytes(3).toString('hex')}`;
  if (!label) return id;
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 24);
  return `${id}_${clean}`;
}

// Linux may hand the same ephemeral port to consecutive listen(0) calls once the first socket is
// closed, so ports given out by this process are remembered and never returned twice.
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago and that this process has not returned before
 * (another process may still take it before it is used). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await osPort();
    if (!handedOut.has(port) || attempt > 50) {
      handedOut.add(port);
      return port;
    }
  }
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Download/build cache, outside the repo so it survives clean checkouts. */
export function cacheDir(...parts: string[]): string {
  const root = process.env.PARLEY_CACHE || join(homedir(), '.cache', 'parley');
  const dir = join(root, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Per-instance child log files live in the cache (not the temp data dir) so they survive the run. */
export function logFilePath(name: string, port: number): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join(cacheDir('logs'), `${name}-${port}-${stamp}-${process.pid}.log`);
}
