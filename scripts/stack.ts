/**
 * `npm run stack`: the multi-process topology on one machine, on real brokers. Builds the demo
 * page's SDK bundle, starts NATS (JetStream), Kafka (KRaft) and a Mongo-wire server through the
 * test kit (provisioned into ~/.cache/parley on first use, or taken from NATS_URL / KAFKA_BROKERS /
 * MONGO_URL), then two gateways (8080, 8090), history (8081), presence (8082) and notify (8083) as
 * child processes, waits for every /readyz, prints where everything is, and writes each child's
 * output to <logs>/<name>.log (also echoed, prefixed, unless --quiet). Ctrl-C (or SIGTERM) drains
 * the services, gateways first, then stops the brokers.
 *
 *   npm run stack [-- --offset N] [--logs DIR] [--quiet]
 *
 * --offset N shifts every service port by N (two stacks on one machine, or a busy 8080).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ServerHandle, startKafka, startMongo, startNats } from '@parley/testkit';

const root = fileURLToPath(new URL('..', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    offset: { type: 'string', default: '0' },
    logs: { type: 'string', default: join(root, 'test-artifacts', 'stack') },
    quiet: { type: 'boolean', default: false },
  },
});
const offset = Number(flags.offset);
if (!Number.isInteger(offset) || offset < 0 || offset > 50_000) {
  console.error('--offset: a whole number between 0 and 50000');
  process.exit(2);
}
const logDir = resolve(flags.logs ?? 'test-artifacts/stack');
mkdirSync(logDir, { recursive: true });

interface Proc {
  name: string;
  service: 'gateway' | 'history' | 'presence' | 'notify';
  port: number;
  env: Record<string, string>;
}

const BASE: Proc[] = [
  { name: 'history', service: 'history', port: 8081, env: {} },
  { name: 'presence', service: 'presence', port: 8082, env: {} },
  { name: 'notify', service: 'notify', port: 8083, env: {} },
  { name: 'gateway-1', service: 'gateway', port: 8080, env: {} },
  { name: 'gateway-2', service: 'gateway', port: 8090, env: {} },
];
const PROCS: Proc[] = BASE.map((p) => ({ ...p, port: p.port + offset }));

const PORT_ENV = {
  gateway: 'GATEWAY_PORT',
  history: 'HISTORY_PORT',
  presence: 'PRESENCE_PORT',
  notify: 'NOTIFY_PORT',
} as const;

const COLORS = [36, 33, 35, 32, 34, 31, 96];
const say = (line: string) => console.log(`\x1b[1m[stack]\x1b[0m ${line}`);

interface Running {
  proc: Proc;
  child: ChildProcess;
  log: WriteStream;
  exited: Promise<number | null>;
}

function startChild(p: Proc, i: number, brokers: Record<string, string>): Running {
  const main = join(root, 'services', p.service, 'src', 'main.ts');
  const log = createWriteStream(join(logDir, `${p.name}.log`), { flags: 'w' });
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: root,
    // Own process group: a terminal Ctrl-C reaches only this script, which stops children in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...brokers,
      INSTANCE_ID: p.name,
      [PORT_ENV[p.service]]: String(p.port),
      DRAIN_PERIOD: process.env.DRAIN_PERIOD ?? '2s',
      ...p.env,
    },
  });
  const prefix = `\x1b[${COLORS[i % COLORS.length]}m${p.name.padEnd(9)}\x1b[0m | `;
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    stream.pipe(log, { end: false });
    if (!flags.quiet) createInterface({ input: stream }).on('line', (l) => console.log(prefix + l));
  }
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { proc: p, child, log, exited };
}

async function waitReady(r: Running, timeoutMs: number): Promise<void> {
  const url = `http://127.0.0.1:${r.proc.port}/readyz`;
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | null | undefined;
  void r.exited.then((c) => {
    exitedWith = c;
  });
  let last = '';
  while (Date.now() < deadline) {
    if (exitedWith !== undefined)
      throw new Error(
        `${r.proc.name} exited (code ${exitedWith}); see ${join(logDir, `${r.proc.name}.log`)}`,
      );
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`${r.proc.name} not ready at ${url} after ${timeoutMs} ms (last: ${last})`);
}

async function stopChild(r: Running, graceMs = 15_000): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), graceMs);
  await r.exited;
  clearTimeout(timer);
  r.log.end();
}

async function main(): Promise<void> {
  const running: Running[] = [];
  const brokers: ServerHandle[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (why: string) => {
    stopping ??= (async () => {
      say(`${why}: draining gateways, then history, presence, notify, then the brokers…`);
      const order = (g: boolean) => running.filter((r) => (r.proc.service === 'gateway') === g);
      await Promise.all(order(true).map((r) => stopChild(r)));
      await Promise.all(order(false).map((r) => stopChild(r)));
      await Promise.allSettled(brokers.map((b) => b[Symbol.asyncDispose]()));
      say('stopped');
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals) => void stopAll(sig).then(() => process.exit(0));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);

  const missing = PROCS.filter((p) => !existsSync(join(root, 'services', p.service, 'src', 'main.ts')));
  for (const p of missing) say(`services/${p.service}/src/main.ts does not exist yet: ${p.name} not started`);

  // The demo page's SDK bundle is built, not committed: from the SDK sources as they are now.
  const built = spawnSync('npm', ['run', 'build', '--silent', '-w', '@parley/client'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('building the SDK bundle (npm run build -w @parley/client) failed');

  const t0 = performance.now();
  say('starting NATS (JetStream), Kafka (KRaft) and a Mongo-wire server (first run provisions them)…');
  const results = await Promise.allSettled([startNats(), startKafka(), startMongo()]);
  for (const r of results) if (r.status === 'fulfilled') brokers.push(r.value);
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failed.length > 0) {
    await stopAll('broker start failed');
    throw new Error(failed.join('\n\n'));
  }
  // The test kit SIGKILLs its servers on any signal (right for test runs); here the services must
  // drain against live brokers first, so only our handler stays. Its 'exit' hook still kills the
  // servers if this process dies some other way.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    for (const l of process.listeners(sig)) if (l !== onSignal) process.off(sig, l);
  process.on('SIGHUP', onSignal);
  const [nats, kafka, mongo] = brokers as [ServerHandle, ServerHandle, ServerHandle];
  const env = { NATS_URL: nats.url, KAFKA_BROKERS: kafka.url, MONGO_URL: mongo.url };
  say(`brokers ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // history first: its bridge and writer set up their consumers while the gateways start.
  PROCS.filter((p) => !missing.includes(p)).forEach((p, i) => {
    running.push(startChild(p, i, env));
  });
  try {
    await Promise.all(running.map((r) => waitReady(r, 120_000)));
  } catch (e) {
    await stopAll('start-up failed');
    throw e;
  }

  const port = (n: string) => PROCS.find((p) => p.name === n)?.port;
  const up = (n: string) => running.some((r) => r.proc.name === n);
  const g1 = port('gateway-1');
  const lines = [
    '',
    `Parley stack is up in ${((performance.now() - t0) / 1000).toFixed(1)} s (real NATS, Kafka, Mongo-wire; ${running.length} processes).`,
    `  demo chat   http://localhost:${g1}/      (second gateway: http://localhost:${port('gateway-2')}/)`,
    `  ops page    http://localhost:${g1}/ops   (Dev token button, or paste: npm run token -- --sub ops --scope admin)`,
    `  WebSocket   ws://localhost:${g1}/ws?token=<jwt>   ws://localhost:${port('gateway-2')}/ws?token=<jwt>`,
    ...PROCS.map(
      (p) =>
        `  ${p.name.padEnd(10)}  http://localhost:${p.port}  (/healthz /readyz /metrics)${up(p.name) ? '' : '  NOT STARTED'}`,
    ),
    `  brokers     NATS_URL=${nats.url} KAFKA_BROKERS=${kafka.url} MONGO_URL=${mongo.url}`,
    `  a token     npm run token -- --sub alice --rooms '*'`,
    `  logs        ${logDir}/<name>.log`,
    '  Ctrl-C drains and stops everything.',
    '',
  ];
  console.log(lines.join('\n'));

  // A service that dies on its own is reported; the rest keep running.
  for (const r of running)
    void r.exited.then((code) => {
      if (!stopping)
        say(`${r.proc.name} exited with code ${code}; see ${join(logDir, `${r.proc.name}.log`)}`);
    });
}

main().catch((e: unknown) => {
  console.error(`[stack] failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
