// `npm run infra -- provision | up`: install the test servers, or run them for local development.
import { startKafka } from './kafka.ts';
import { startMongo } from './mongo.ts';
import { startNats } from './nats.ts';
import { provisionAll } from './provision/index.ts';

const USAGE = 'usage: npm run infra -- provision | up';
const log = (line: string): void => console.log(`[infra] ${line}`);

async function up(): Promise<void> {
  const t0 = performance.now();
  const [nats, kafka, mongo] = await Promise.all([startNats(), startKafka(), startMongo()]);
  log(`ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; Ctrl-C stops everything`);
  console.log(`NATS_URL=${nats.url} KAFKA_BROKERS=${kafka.url} MONGO_URL=${mongo.url}`);
  await new Promise<void>((resolve) => {
    // Our own handlers replace the test kit's kill-on-signal, so shutdown is graceful (SIGTERM + wait).
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log('stopping…');
  await Promise.allSettled([nats, kafka, mongo].map((h) => h[Symbol.asyncDispose]()));
  log('stopped');
}

async function main(cmd: string | undefined): Promise<void> {
  if (cmd === 'provision') return provisionAll(log);
  if (cmd === 'up') return up();
  throw new Error(USAGE);
}

main(process.argv[2]).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[infra] failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
