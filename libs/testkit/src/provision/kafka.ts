import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../util.ts';
import { type Log, once, ProvisionError, run, tryRun } from './run.ts';

// 3.9 is the last line with ZooKeeper-free KRaft *and* the 3.x protocol versions kafkajs 2.2.4 speaks.
export const KAFKA_VERSION = '3.9.2';
const MARKER = '.complete';

// The broker jar plus an slf4j binding so the broker's log lines reach the log file.
const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>parley.testkit</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;

/** Directory holding kafka_2.13 and all runtime jars (for `java -cp 'dir/*'`); downloads once. */
export const ensureKafkaJars = once(async (log: Log = () => {}): Promise<string> => {
  await ensureJava();
  const home = cacheDir(`kafka-${KAFKA_VERSION}`);
  const libs = join(home, 'libs');
  if (existsSync(join(libs, MARKER))) return libs;
  log(`kafka: resolving org.apache.kafka:kafka_2.13:${KAFKA_VERSION} and dependencies from Maven Central`);
  const work = join(home, `.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    writeFileSync(join(work, 'pom.xml'), POM);
    await run(
      'mvn',
      [
        '-B',
        '-q',
        `-Dmaven.repo.local=${cacheDir('m2')}`,
        'dependency:copy-dependencies',
        '-DoutputDirectory=libs',
        '-DincludeScope=runtime',
      ],
      { cwd: work },
    );
    writeFileSync(join(work, 'libs', MARKER), `${new Date().toISOString()}\n`);
    rmSync(libs, { recursive: true, force: true });
    renameSync(join(work, 'libs'), libs); // a half-finished download never looks complete
    log(`kafka: jars in ${libs}`);
    return libs;
  } catch (err) {
    throw new ProvisionError(
      `cannot provision Kafka ${KAFKA_VERSION} jars: ${(err as Error).message}\n` +
        'Fix: make Maven Central reachable for `mvn`, or set KAFKA_BROKERS to an external broker.',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

async function ensureJava(): Promise<void> {
  const out = await tryRun('java', ['-version']);
  const major = Number(out?.match(/version "(\d+)/)?.[1]);
  if (!(major >= 17)) {
    throw new ProvisionError(
      `Kafka needs Java 17+ on PATH (found: ${out ? out.split('\n')[0] : 'no java'}). ` +
        'Fix: apt-get install openjdk-17-jre-headless, or set KAFKA_BROKERS.',
    );
  }
}
