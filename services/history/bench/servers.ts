/**
 * The pids of the servers behind NATS_URL, KAFKA_BROKERS and MONGO_URL, found by their port in
 * /proc (read only), so the bench can tell the pipeline's CPU from everything else on a shared box.
 * A server it cannot identify (another kind of install) counts as "others".
 */
import { readdirSync, readFileSync } from 'node:fs';

interface Proc {
  pid: number;
  ppid: number;
  args: string[];
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(d), ppid, args });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const portOf = (url: string) => new URL(url.includes('://') ? url : `x://${url}`).port;

function readText(file: string | undefined): string {
  try {
    return file ? readFileSync(file, 'utf8') : '';
  } catch {
    return '';
  }
}

/** Pids per server; PostgreSQL counts with FerretDB (its backend), children included. */
export function serverPids(urls: { nats: string; kafka: string; mongo: string }): Record<string, number[]> {
  const all = processes();
  const has = (p: Proc, s: string) => p.args.some((a) => a.includes(s));
  const natsPort = portOf(urls.nats);
  const nats = all.filter((p) => has(p, 'nats-server') && p.args.includes(natsPort));
  const kafkaPort = portOf(urls.kafka);
  const kafka = all.filter(
    (p) =>
      p.args.includes('kafka.Kafka') &&
      readText(p.args.at(-1)).includes(`PLAINTEXT://127.0.0.1:${kafkaPort}`),
  );
  const mongoPort = portOf(urls.mongo);
  const mongo = all.filter(
    (p) => (has(p, 'ferretdb') || has(p, 'mongod')) && has(p, `:${mongoPort}`) && !has(p, 'node'),
  );
  const pgPort = mongo
    .flatMap((p) => p.args)
    .map((a) => /postgresql-url=postgres:\/\/[^@]*@[^:]+:(\d+)/.exec(a)?.[1])
    .find(Boolean);
  const postmaster = all.filter((p) => pgPort && has(p, 'postgres') && p.args.includes(pgPort));
  const pg = all.filter((p) => postmaster.some((m) => m.pid === p.pid || m.pid === p.ppid));
  return {
    nats: nats.map((p) => p.pid),
    kafka: kafka.map((p) => p.pid),
    mongo: [...mongo, ...pg].map((p) => p.pid),
  };
}
