/**
 * Throughput of EventStream.send on real Kafka, 100-byte records.
 * Run: npx tsx libs/stream/test/send.bench.ts   (KAFKA_BROKERS=host:port to use a running broker)
 * Prints one line per scenario: records/s and this process's CPU time per record.
 */
import { startKafka, uniquePrefix } from '@parley/testkit';
import { createKafkaStream } from '../src/stream.kafka.ts';
import type { EventStream, OutRecord } from '../src/stream.ts';

const TOTAL = 200_000;
// Chat-like JSON: realistic for compression (a repeated character would flatter gzip).
const WORDS = 'the a to see you at meeting lunch ok thanks deploy later build tomorrow why now yes no'.split(
  ' ',
);
const word = () => WORDS[Math.floor(Math.random() * WORDS.length)];
const value = (i: number) =>
  JSON.stringify({
    room: `r${i % 50}`,
    seq: i,
    from: `u${i % 997}`,
    body: Array.from({ length: 12 }, word).join(' '),
  })
    .padEnd(100, ' ')
    .slice(0, 100);

interface Scenario {
  name: string;
  compression: 'gzip' | 'none';
  /** Records per send() call and send() calls kept in flight. */
  perSend: number;
  inFlight: number;
}

const scenarios: Scenario[] = [
  { name: '1 record/send, 1000 in flight', compression: 'gzip', perSend: 1, inFlight: 1_000 },
  { name: '1 record/send, 1000 in flight', compression: 'none', perSend: 1, inFlight: 1_000 },
  { name: '100 records/send, 20 in flight', compression: 'gzip', perSend: 100, inFlight: 20 },
  { name: '100 records/send, 20 in flight', compression: 'none', perSend: 100, inFlight: 20 },
  { name: '1 record/send, awaited one by one', compression: 'gzip', perSend: 1, inFlight: 1 },
];

async function run(stream: EventStream, s: Scenario): Promise<void> {
  const topic = uniquePrefix('bench');
  await stream.ensureTopics([{ topic, partitions: 4 }]);
  const total = s.inFlight === 1 ? 2_000 : TOTAL;
  let next = 0;
  const batch = (): OutRecord[] =>
    Array.from({ length: s.perSend }, () => ({ key: `k${next % 64}`, value: value(next++) }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) await stream.send(topic, batch());
  };
  await Promise.all(Array.from({ length: s.inFlight }, worker));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerRecord = (cpu.user + cpu.system) / next;
  console.log(
    `${s.name.padEnd(36)} ${s.compression.padEnd(5)} ${Math.round(next / secs)
      .toString()
      .padStart(8)} records/s` + `  ${cpuUsPerRecord.toFixed(1)} µs CPU/record (client)`,
  );
}

const kafka = await startKafka();
const stream = createKafkaStream({ brokers: [kafka.url], clientId: 'bench', compression: 'gzip' });
const plain = createKafkaStream({ brokers: [kafka.url], clientId: 'bench', compression: 'none' });
try {
  await stream.start();
  await plain.start();
  for (const s of scenarios) await run(s.compression === 'gzip' ? stream : plain, s);
} finally {
  await stream.stop();
  await plain.stop();
  await kafka[Symbol.asyncDispose]();
}
