/**
 * Load generator for bench/notify.ts, run as its own process so its CPU is not notify's: POSTs
 * `REQUESTS` notifications at `CONCURRENCY` over keep-alive connections, then prints one JSON line
 * `{requests, failed, seconds, cpuMs, acceptP50Ms, acceptP99Ms}` (accept = request sent -> 202).
 * Settings come from the environment (URL, TOKEN, REQUESTS, CONCURRENCY, USERS_PER_REQUEST, USER_SPACE, KEYED, TAG).
 */
import { Agent, request } from 'node:http';

const env = (k: string) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k}: required (set by bench/notify.ts)`);
  return v;
};
const url = new URL(env('URL'));
const token = env('TOKEN');
const REQUESTS = Number(env('REQUESTS'));
const CONCURRENCY = Number(env('CONCURRENCY'));
const PER_REQUEST = Number(env('USERS_PER_REQUEST'));
const USER_SPACE = Number(env('USER_SPACE'));
const KEYED = env('KEYED') === '1';
const TAG = env('TAG');

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(i: number): Promise<number> {
  const users = Array.from({ length: PER_REQUEST }, (_, k) => `u${(i * PER_REQUEST + k) % USER_SPACE}`);
  const body: Record<string, unknown> = { to: { users }, title: `${TAG}-${i}`, body: 'bench' };
  if (KEYED) body.idempotencyKey = `${TAG}-${i}`;
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const latencies: number[] = [];
let next = 0;
let failed = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const i = next++;
      const start = performance.now();
      const status = await post(i).catch(() => 0);
      if (status === 202) latencies.push(performance.now() - start);
      else failed++;
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
const at = (q: number) =>
  Number((latencies[Math.floor(q * (latencies.length - 1))] ?? Number.NaN).toFixed(1));
agent.destroy();
console.log(
  JSON.stringify({
    requests: REQUESTS,
    failed,
    seconds,
    cpuMs: (cpu.user + cpu.system) / 1000,
    acceptP50Ms: at(0.5),
    acceptP99Ms: at(0.99),
  }),
);
