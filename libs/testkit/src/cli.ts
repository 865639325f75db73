// `npm run infra -- provision | up`: install the test servers, or run them for local development.
import { startKafka } from './kafka.ts';
import { startMongo } from './mongo.ts';
import { startNats } from './nats.ts';
import { handleSignalsGracefully } from './process.ts';
import { provisionAll } from './provision/index.ts';

const USAGE = 'usage: npm run infra -- provision | up';
const log = (line: string): void => console.log(`[infra] ${line}`);

async function up(): Promise<void> {
  // Graceful: SIGTERM each server and wait, instead of the test kit's default SIGKILL on signal.
  // Listen before starting, so a Ctrl-C during start-up still stops what did start.
  handleSignalsGracefully();
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const t0 = performance.now();
  const results = await Promise.allSettled([startNats(), startKafka(), startMongo()]);
  const servers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failed.length === 0) {
    const [nats, kafka, mongo] = servers;
    log(`ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; Ctrl-C stops everything`);
    console.log(`NATS_URL=${nats?.url} KAFKA_BROKERS=${kafka?.url} MONGO_URL=${mongo?.url}`);
    await stopRequested;
  }
  log('stopping…');
  await Promise.allSettled(servers.map((h) => h[Symbol.asyncDispose]()));
  log('stopped');
  if (failed.length > 0) throw new AggregateError(failed, failed.map((e) => e.message).join('\n\n'));
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
