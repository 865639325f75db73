/**
 * Kafka ingress: internal producers write the HTTP request body to `notifications.requests`.
 * Records are validated exactly like HTTP bodies; an invalid one goes to
 * `notifications.requests.dead` (original key and value, the problem in header `error`) and is
 * never retried. A valid one is accepted like an HTTP request; the batch's offsets are committed
 * only after every record is stored or dead-lettered, so a crash redelivers and the idempotency
 * key (the producer's, else the record's position) stores it once.
 */
import type { Logger } from '@parley/log';
import { KafkaTopics } from '@parley/protocol';
import type { EventStream, InRecord, OutRecord, StreamConsumer } from '@parley/stream';
import type { NotifyMetrics } from './metrics.ts';
import type { Notifier } from './notifier.ts';
import { parseNotifyJson } from './request.ts';

export interface IngressOptions {
  stream: EventStream;
  notifier: Notifier;
  metrics: NotifyMetrics;
  log: Logger;
  maxBodyBytes: number;
  maxUsers: number;
}

export const INGRESS_GROUP = 'notify-requests';
/** Records of one batch accepted at once: enough to hide store round trips, few enough to stay gentle. */
const CONCURRENCY = 16;

export function consumeRequests(o: IngressOptions): Promise<StreamConsumer> {
  return o.stream.consume({ group: INGRESS_GROUP, topics: [KafkaTopics.notificationRequests] }, (batch) =>
    handleBatch(o, batch),
  );
}

async function handleBatch(o: IngressOptions, batch: InRecord[]): Promise<void> {
  const dead: OutRecord[] = [];
  for (let i = 0; i < batch.length; i += CONCURRENCY) {
    await Promise.all(batch.slice(i, i + CONCURRENCY).map((r) => handleRecord(o, r, dead)));
  }
  if (dead.length > 0) await o.stream.send(KafkaTopics.notificationRequestsDead, dead);
}

async function handleRecord(o: IngressOptions, r: InRecord, dead: OutRecord[]): Promise<void> {
  const parsed =
    Buffer.byteLength(r.value) > o.maxBodyBytes
      ? ({ ok: false, error: `request: larger than ${o.maxBodyBytes} bytes` } as const)
      : parseNotifyJson(r.value, o.maxUsers);
  if (!parsed.ok) {
    o.metrics.requests.inc({ source: 'kafka', result: 'invalid' });
    o.log.warn({ partition: r.partition, offset: r.offset, error: parsed.error }, 'dead-lettered request');
    const headers = { ...r.headers, error: parsed.error, from: `${r.topic}/${r.partition}/${r.offset}` };
    dead.push({ key: r.key, value: r.value, headers });
    return;
  }
  const key = parsed.input.idempotencyKey;
  const { replayed } = await o.notifier.accept(
    parsed.input,
    key === undefined ? `rec:${r.topic}/${r.partition}/${r.offset}` : `key:${key}`,
  );
  o.metrics.requests.inc({ source: 'kafka', result: replayed ? 'replayed' : 'accepted' });
}
