/**
 * Gateways as child processes (`node --import tsx services/gateway/src/main.ts`), for tests that
 * kill -9 or SIGTERM a gateway: the real main.ts, signals and exit code. Output goes to a log file
 * kept in the OS temp dir; every child is SIGKILLed when this process exits, whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@parley/testkit';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface ChildGateway {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly http: string;
  readonly logFile: string;
  /** Resolves with the exit code and signal once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL if still running; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts a gateway process on a free port; resolves once /healthz answers. */
export async function spawnGateway(natsUrl: string, env: Record<string, string> = {}): Promise<ChildGateway> {
  const port = await freePort();
  const logFile = join(tmpdir(), `parley-gateway-${port}-${process.pid}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NATS_URL: natsUrl,
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const http = `http://127.0.0.1:${port}`;
  const gw: ChildGateway = {
    child,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    http,
    logFile,
    exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    stop: async () => {
      gw.signal('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + 30_000;
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  for (;;) {
    if (ended) throw new Error(`gateway exited before it was ready:\n${tail(logFile)}`);
    try {
      if ((await fetch(`${http}/healthz`)).ok) return gw;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await gw.stop();
      throw new Error(`gateway not ready after 30 s:\n${tail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
