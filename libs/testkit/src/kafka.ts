import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { dockerAvailable, startDocker } from './docker.ts';
import { makeTempDir, removeTempDir } from './process.ts';
import { ensureKafkaJars, KAFKA_VERSION } from './provision/kafka.ts';
import { run } from './provision/run.ts';
import { ExternalServer, LocalServer, type ServerHandle } from './server.ts';
import { freePort, logFilePath } from './util.ts';

const PROBE_TOPIC = '__parley_probe';

/**
 * Starts (or points at) a single-node Kafka in KRaft mode (broker + controller in one process).
 * `own: true` starts a private broker even when KAFKA_BROKERS is set: for a test that stops it.
 */
export async function startKafka(opts: { own?: boolean } = {}): Promise<ServerHandle> {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv && !opts.own) return new ExternalServer('kafka', fromEnv, 'KAFKA_BROKERS');
  const port = await freePort();
  const url = `127.0.0.1:${port}`;
  const probe = () => probeKafka(url);
  if (await dockerAvailable()) {
    const controller = await freePort();
    return startDocker({
      name: 'kafka',
      url,
      image: `apache/kafka:${KAFKA_VERSION}`,
      ports: [[port, port]],
      env: {
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:${controller}`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${url}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@localhost:${controller}`,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_NUM_PARTITIONS: '4',
      },
      probe,
    });
  }
  const libs = await ensureKafkaJars();
  const controllerPort = await freePort();
  const dataDir = makeTempDir('kafka');
  const props = join(dataDir, 'server.properties');
  writeFileSync(props, serverProperties(port, controllerPort, join(dataDir, 'logs')));
  writeFileSync(join(dataDir, 'log4j.properties'), LOG4J);
  const java = (main: string, heap: string) => [
    `-Xmx${heap}`,
    // Serial GC + C1 only: this broker serves tests on a 2-core box, start-up time matters more
    // than peak throughput, and G1's extra threads would compete with the other servers.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(dataDir, 'log4j.properties')}`,
    '-cp',
    join(libs, '*'),
    main,
  ];
  const logFile = logFilePath('kafka', port);
  try {
    // KRaft storage must be formatted once with a cluster id; restarts reuse it.
    await run('java', [...java('kafka.tools.StorageTool', '256m'), 'format', '-t', clusterId(), '-c', props]);
  } catch (err) {
    removeTempDir(dataDir);
    throw err;
  }
  const server = new LocalServer({
    name: 'kafka',
    url,
    dataDir,
    logFile,
    command: () => ({ cmd: 'java', args: [...java('kafka.Kafka', '512m'), props] }),
    probe,
    readyTimeoutMs: 90_000,
    fix: 'check Java 17 is on PATH and the jars are complete (`npm run infra -- provision`), or set KAFKA_BROKERS',
  });
  try {
    await server.start();
  } catch (err) {
    removeTempDir(dataDir);
    throw err;
  }
  return server;
}

function serverProperties(port: number, controllerPort: number, logDir: string): string {
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDir}
auto.create.topics.enable=true
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
# 50 partitions (the default) makes the first consumer group take seconds to come up.
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
# After kill -9 the controller waits for the old broker session to expire before accepting the new
# incarnation: 9 s by default. Heartbeats are in-process here, so a short session is safe.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
num.network.threads=2
num.io.threads=2
`;
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.kafka.storage=WARN
`;

// Kafka's Uuid string form: 16 random bytes, base64url without padding (must not start with '-').
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

// describeCluster proves the broker answers; creating (idempotently) a probe topic and seeing its
// leader proves the controller has elected itself and the broker can serve partitions.
async function probeKafka(url: string): Promise<void> {
  const kafka = new Kafka({
    brokers: [url],
    clientId: 'parley-testkit-probe',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    if (!cluster.brokers.some((b) => `${b.host}:${b.port}` === url)) {
      throw new Error(`broker ${url} not in cluster metadata yet`);
    }
    await admin.createTopics({ topics: [{ topic: PROBE_TOPIC, numPartitions: 1 }], waitForLeaders: true });
    const meta = await admin.fetchTopicMetadata({ topics: [PROBE_TOPIC] });
    const leader = meta.topics[0]?.partitions[0]?.leader;
    if (leader === undefined || leader < 0) throw new Error('probe topic has no leader yet');
  } finally {
    await admin.disconnect();
  }
}
