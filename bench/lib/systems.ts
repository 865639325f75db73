/** Starting and stopping the systems under test: Parley (gateway processes + driver) and the peers. */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '@parley/testkit';
import type { ConnectCmd } from '../loadgen/protocol.ts';
import type { ServerStatus, ToServer } from '../peers/serve.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** parley-core: Parley with core-NATS ingress into the stream (see drivers/jetstream.ts). */
export type SystemName = 'parley' | 'parley-core' | 'uws' | 'ws' | 'socket.io';

/** A process speaking the serve.ts protocol (peer server or JetStream driver). */
export class Publisher {
  private statusWaiters: ((s: ServerStatus) => void)[] = [];

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: { op?: string }) => {
      if (m.op === 'status') this.statusWaiters.shift()?.(m as ServerStatus);
    });
  }

  send(m: ToServer): void {
    if (this.proc.connected) this.proc.send(m);
  }

  status(): Promise<ServerStatus> {
    return new Promise((resolve) => {
      this.statusWaiters.push(resolve);
      this.send({ op: 'status' });
    });
  }
}

/**
 * Several driver processes as one publisher: each gets a shard of the rooms and its share of the
 * rate (or credit); status sums their counters.
 */
export class PublisherGroup {
  constructor(readonly members: Publisher[]) {}

  send(m: ToServer): void {
    const n = this.members.length;
    this.members.forEach((p, i) => {
      if (m.op === 'plan')
        p.send({ ...m, shard: [i, n], ...(m.rate === undefined ? {} : { rate: m.rate / n }) });
      else if (m.op === 'credit') p.send({ op: 'credit', total: Math.ceil(m.total / n) });
      else p.send(m);
    });
  }

  async status(): Promise<ServerStatus> {
    const all = await Promise.all(this.members.map((p) => p.status()));
    const extra: Record<string, number> = {};
    for (const s of all) for (const [k, v] of Object.entries(s.extra)) extra[k] = (extra[k] ?? 0) + v;
    return {
      op: 'status',
      published: all.reduce((a, s) => a + s.published, 0),
      connections: all.reduce((a, s) => a + s.connections, 0),
      extra,
    };
  }
}

export interface System {
  name: SystemName;
  mode: ConnectCmd['mode'];
  port: number;
  publisher: Pick<Publisher, 'send' | 'status'>;
  /** Server-side processes by role, for CPU accounting. */
  pids: Record<string, number[]>;
  /** The process whose RSS is reported per connection. */
  serverPid: number;
  stop(): Promise<void>;
}

function forkTs(file: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return fork(file, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: 'inherit' });
}

function readyPort(proc: ChildProcess, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not ready in 30 s`)), 30_000);
    proc.on('message', (m: { op?: string; port?: number }) => {
      if (m.op === 'ready') {
        clearTimeout(t);
        resolve(m.port ?? 0);
      }
    });
    proc.on('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

export async function startPeer(name: Exclude<SystemName, 'parley' | 'parley-core'>): Promise<System> {
  const file = { uws: 'uws.ts', ws: 'ws.ts', 'socket.io': 'socketio.ts' }[name];
  const proc = forkTs(here(`../peers/${file}`));
  const port = await readyPort(proc, name);
  return {
    name,
    mode: name === 'socket.io' ? 'sio' : 'plain',
    port,
    publisher: new Publisher(proc),
    pids: { server: [proc.pid ?? 0] },
    serverPid: proc.pid ?? 0,
    stop: () => kill(proc),
  };
}

export interface GatewayProc {
  proc: ChildProcess;
  port: number;
}

const FROM_SOURCE = ['--import', 'tsx', 'services/gateway/src/main.ts'];

/**
 * `node --import tsx services/gateway/src/main.ts` (or `argv`, e.g. the bundle the image runs),
 * tuned by env only; resolves once /readyz is 200.
 */
export async function startGatewayProc(
  natsUrl: string,
  env: Record<string, string> = {},
  argv = FROM_SOURCE,
): Promise<GatewayProc> {
  const port = await freePort();
  const proc = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: {
      ...process.env,
      NATS_URL: natsUrl,
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.status === 200) return { proc, port };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL'); // the caller never sees this process, so it could not stop it
      throw new Error('gateway not ready in 30 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Bundles the services as the image does (deploy/docker/build.mjs) into dist/bench-<name>, and
 * returns the argv that runs the gateway from it: plain node, no tsx in each process's memory.
 */
export function bundledGateway(name: string): string[] {
  const app = `${ROOT}dist/bench-${name}`;
  const r = spawnSync(process.execPath, ['deploy/docker/build.mjs', app], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`bundling the gateway (node deploy/docker/build.mjs ${app}) failed`);
  return [`${app}/dist/gateway.mjs`];
}

/** The gateway and `drivers` JetStream driver processes (the rooms are sharded over them). */
export async function startParley(
  natsUrl: string,
  natsPid: number,
  ingress: 'append' | 'core' = 'append',
  drivers = 1,
): Promise<System & { gateway: GatewayProc }> {
  const procs = Array.from({ length: drivers }, () =>
    forkTs(here('../drivers/jetstream.ts'), { NATS_URL: natsUrl, BENCH_INGRESS: ingress }),
  );
  const [gateway] = await Promise.all([
    startGatewayProc(natsUrl),
    ...procs.map((d) => readyPort(d, 'jetstream driver')),
  ]);
  const publishers = procs.map((d) => new Publisher(d));
  return {
    name: ingress === 'core' ? 'parley-core' : 'parley',
    mode: 'parley',
    port: gateway.port,
    gateway,
    publisher: drivers === 1 ? (publishers[0] as Publisher) : new PublisherGroup(publishers),
    pids: { server: [gateway.proc.pid ?? 0], nats: [natsPid], driver: procs.map((d) => d.pid ?? 0) },
    serverPid: gateway.proc.pid ?? 0,
    stop: async () => {
      await Promise.all([kill(gateway.proc), ...procs.map(kill)]);
    },
  };
}

export { kill };
