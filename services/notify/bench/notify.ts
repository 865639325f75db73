/**
 * `npm run bench -w @parley/notify [-- --quick]`: the notify API on a real Mongo-wire server
 * (MONGO_URL, else whatever the test kit starts), notify alone in this process; the HTTP load
 * (bench/load.ts) and the live-latency probe with its gateway (bench/probe.ts) in processes of their own.
 * - throughput: POST /v1/notifications at a fixed concurrency: 1 and 10 users per request without
 *   a key, 1 user with an idempotencyKey; accepted/s (202s), stored/s (new inbox rows), request ->
 *   202 p50/p99 (load generator side);
 * - live latency under that load: a probe sends PROBE_RATE requests/s to users connected to the
 *   gateway and times API call -> `notification` frame on their socket;
 * - live latency alone: the same probe with no other load.
 * CPU per process (cores): this process (notify), the probe (gateway + sockets), the load generator, NATS, the
 * Mongo-wire server (FerretDB + PostgreSQL, shared with other runs) and everything else on the box.
 * Kafka is not on the API path, so the service runs with the memory stream. Writes results/notify.json.
 *
 * NATS is the bench's own server even when NATS_URL is set: on a shared server every gateway of
 * every other test run sends its `notify.query` lookups to whichever notify is in queue group
 * 'notify', this one included (1,841 foreign lookups in one 20 s run), and they ran against this
 * bench's database while it measured.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DEV_SECRET, signToken } from '@parley/auth';
import { createNatsBus } from '@parley/bus';
import { createTestLogger } from '@parley/log';
import { verifierFrom } from '@parley/runtime';
import { mongoStores, openMongo } from '@parley/store';
import { createMemoryStream } from '@parley/stream';
import { startMongo, startNats, uniquePrefix } from '@parley/testkit';
import { CpuMeter } from '../../../bench/lib/proc.ts';
// Finds the servers' pids by port; shared with the history bench (it belongs in bench/lib).
import { serverPids } from '../../history/bench/servers.ts';
import { loadNotifyConfig, NotifyService } from '../src/index.ts';

const quick = process.argv.includes('--quick');
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const REQUESTS = env('REQUESTS', quick ? 5_000 : 20_000);
const CONCURRENCY = env('CONCURRENCY', 64);
const PROBE_USERS = 20;
const PROBE_RATE = env('PROBE_RATE', 20); // probe requests per second, on top of the load
const IDLE_SECONDS = quick ? 3 : 10;

const nats = await startNats({ own: true });
const mongoServer = await startMongo();
const mongo = await openMongo(mongoServer.url, uniquePrefix('bench_notify'));
const log = createTestLogger().logger;
const notifyBus = await createNatsBus({ servers: nats.url, name: 'notify-bench' });
const cfg = loadNotifyConfig({ NOTIFY_PORT: '0', NOTIFY_HOST: '127.0.0.1' });
const verifier = await verifierFrom(cfg);
const notify = new NotifyService({
  cfg,
  bus: notifyBus,
  stream: createMemoryStream(),
  stores: mongoStores(mongo.db),
  verifier,
  log,
});
await notify.start();
const api = `http://127.0.0.1:${notify.port}/v1/notifications`;
const token = await signToken(DEV_SECRET, { sub: 'bench', scope: 'notify:send' });

let loadPid = 0;
let probePid = 0;
// Re-read per scenario: PostgreSQL starts and ends a backend per connection (other runs' too).
const findServers = () => serverPids({ nats: nats.url, kafka: '127.0.0.1:1', mongo: mongoServer.url });
let servers = findServers();
// The load generator reports its own CPU (it has exited when the meter is read).
const meter = new CpuMeter(() => ({
  notify: [process.pid],
  probe: probePid ? [probePid] : [],
  loadgen: loadPid ? [loadPid] : [],
  nats: servers.nats,
  mongo: servers.mongo,
}));
const cores = () =>
  Object.fromEntries(Object.entries(meter.cores()).map(([k, v]) => [k, Number(v.toFixed(2))]));

/** The live-latency probe in its own process (bench/probe.ts): a gateway and PROBE_USERS sockets. */
async function startProbe() {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./probe.ts', import.meta.url))],
    {
      env: {
        ...process.env,
        NATS_URL: nats.url,
        API: api,
        TOKEN: token,
        PROBE_USERS: String(PROBE_USERS),
        PROBE_RATE: String(PROBE_RATE),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  probePid = child.pid ?? 0;
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('probe exited early (see its stderr above)');
    return r.value;
  };
  if ((await next()) !== 'ready') throw new Error('probe: expected "ready"');
  return {
    /** Stops sending and returns the figures of everything sent so far. */
    async stop(): Promise<Record<string, number>> {
      child.stdin.end('stop\n');
      return JSON.parse(await next());
    },
  };
}

interface LoadResult {
  requests: number;
  failed: number;
  seconds: number;
  cpuMs: number;
  acceptP50Ms: number;
  acceptP99Ms: number;
}

function runLoad(o: {
  usersPerRequest: number;
  keyed: boolean;
  tag: string;
  url?: string;
}): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./load.ts', import.meta.url))],
    {
      env: {
        ...process.env,
        URL: api,
        TOKEN: token,
        REQUESTS: String(REQUESTS),
        CONCURRENCY: String(CONCURRENCY),
        USERS_PER_REQUEST: String(o.usersPerRequest),
        USER_SPACE: '10000',
        KEYED: o.keyed ? '1' : '0',
        TAG: o.tag,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  loadPid = child.pid ?? 0;
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as LoadResult);
    });
  });
}

const storedSoFar = async () => (await notify.metrics.stored.get()).values.reduce((s, v) => s + v.value, 0);

/** Store writes so far and their documents, per group commit (rows, claims, marks). */
async function writesSoFar(): Promise<Record<string, { writes: number; docs: number }>> {
  const out: Record<string, { writes: number; docs: number }> = {};
  for (const v of (await notify.metrics.writeBatch.get()).values) {
    const kind = String(v.labels.kind);
    out[kind] ??= { writes: 0, docs: 0 };
    if (v.metricName?.endsWith('_count')) out[kind].writes = v.value;
    if (v.metricName?.endsWith('_sum')) out[kind].docs = v.value;
  }
  return out;
}

/** Mean documents per write of each group commit between two `writesSoFar` readings. */
function meanBatch(before: Awaited<ReturnType<typeof writesSoFar>>, after: typeof before) {
  return Object.fromEntries(
    Object.entries(after).map(([kind, a]) => {
      const b = before[kind] ?? { writes: 0, docs: 0 };
      const writes = a.writes - b.writes;
      return [kind, writes === 0 ? 0 : Number(((a.docs - b.docs) / writes).toFixed(1))];
    }),
  );
}

async function throughput(usersPerRequest: number, keyed: boolean) {
  const probe = await startProbe();
  const stored0 = await storedSoFar();
  const writes0 = await writesSoFar();
  servers = findServers();
  meter.start();
  const load = await runLoad({
    usersPerRequest,
    keyed,
    tag: `t${usersPerRequest}${keyed ? 'k' : ''}-${Date.now()}`,
  });
  const loadgen = load.cpuMs / 1000 / load.seconds;
  const measured = cores();
  const others = Number(Math.max(0, (measured.others ?? 0) - loadgen).toFixed(2));
  const cpu = { ...measured, loadgen: Number(loadgen.toFixed(2)), others };
  const stored = (await storedSoFar()) - stored0;
  const docsPerWrite = meanBatch(writes0, await writesSoFar());
  const live = await probe.stop();
  return {
    scenario: `${usersPerRequest} user(s)/request${keyed ? ', idempotencyKey' : ''}, ${CONCURRENCY} concurrent`,
    requests: load.requests,
    failed: load.failed,
    acceptedPerSec: Math.round((load.requests - load.failed) / load.seconds),
    storedPerSec: Math.round(stored / load.seconds),
    acceptP50Ms: load.acceptP50Ms,
    acceptP99Ms: load.acceptP99Ms,
    ...live,
    docsPerWrite,
    cpuUsPerRequest: Math.round(((cpu.notify ?? 0) * load.seconds * 1e6) / load.requests),
    cores: cpu,
  };
}

/**
 * The peer: a bare node:http server that reads the body, parses it and answers 202, under the same
 * load generator. Its rate and CPU per request are the ceiling for any node:http API on this box now.
 */
async function bareHttp() {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"id":"x","recipients":1}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/notifications`;
  const cpu0 = process.cpuUsage();
  const load = await runLoad({ usersPerRequest: 1, keyed: false, tag: 'peer', url });
  const cpu = process.cpuUsage(cpu0);
  server.close();
  return {
    scenario: `peer: bare node:http 202, ${CONCURRENCY} concurrent`,
    requests: load.requests,
    acceptedPerSec: Math.round((load.requests - load.failed) / load.seconds),
    acceptP50Ms: load.acceptP50Ms,
    acceptP99Ms: load.acceptP99Ms,
    cpuUsPerRequest: Math.round((cpu.user + cpu.system) / load.requests),
    cores: {
      server: Number(((cpu.user + cpu.system) / 1e6 / load.seconds).toFixed(2)),
      loadgen: Number((load.cpuMs / 1000 / load.seconds).toFixed(2)),
    },
  };
}

async function idleLatency() {
  const probe = await startProbe();
  servers = findServers();
  meter.start();
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const cpu = cores();
  return { scenario: `probe alone (${PROBE_RATE} req/s)`, ...(await probe.stop()), cores: cpu };
}

try {
  const rows: Record<string, unknown>[] = [];
  const load0 = loadavg()[0];
  for (const run of [
    () => idleLatency(),
    () => bareHttp(),
    () => throughput(1, false),
    () => throughput(10, false),
    () => throughput(1, true),
  ]) {
    rows.push(await run());
    console.error(`[bench] done: ${JSON.stringify(rows.at(-1))}`);
  }
  const COLUMNS = [
    'scenario',
    'acceptedPerSec',
    'storedPerSec',
    'acceptP99Ms',
    'liveP50Ms',
    'liveP99Ms',
    'cpuUsPerRequest',
  ];
  console.table(
    rows.map((r) => ({
      ...Object.fromEntries(COLUMNS.map((k) => [k, r[k] ?? ''])),
      ...Object.fromEntries(Object.entries(r.cores as object).map(([k, v]) => [`cores.${k}`, v])),
    })),
  );
  const out = new URL('./results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    mongo: process.env.MONGO_URL
      ? 'MONGO_URL (FerretDB v1.24 on PostgreSQL here)'
      : 'started by the test kit',
    quick,
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    probeRate: PROBE_RATE,
    loadAverage1m: { before: load0, after: loadavg()[0] },
    note: 'cores: average busy cores per process during the scenario (notify = this process, notify alone; probe = gateway + probe sockets); others = the rest of the box (other engineers’ runs). cpuUsPerRequest: CPU of the serving process per request.',
  };
  writeFileSync(new URL('notify.json', out), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
} finally {
  await notify.drain();
  await notifyBus.close();
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
  await Promise.all([nats[Symbol.asyncDispose](), mongoServer[Symbol.asyncDispose]()]);
}
