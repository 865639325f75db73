/** The history service's Prometheus metrics (issue 4 §6). */
import {
  Counter,
  createRegistry,
  Gauge,
  Histogram,
  LATENCY_BUCKETS_MS,
  type Registry,
} from '@parley/metrics';

/** Batch sizes from single messages up to the largest configurable batch. */
const BATCH_BUCKETS = [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
/** Persistence lag reaches into tens of seconds after an outage: buckets go past the latency ones. */
const LAG_BUCKETS_MS = [...LATENCY_BUCKETS_MS, 10_000, 30_000, 60_000, 300_000];

export function createHistoryMetrics(instance: string) {
  const registry: Registry = createRegistry('history', instance);
  const registers = [registry];
  return {
    registry,
    bridgePending: new Gauge({
      name: 'parley_history_bridge_pending',
      help: 'JetStream messages not yet acknowledged by the bridge (bridge lag)',
      registers,
    }),
    kafkaLag: new Gauge({
      name: 'parley_history_kafka_lag',
      help: 'chat.messages records not yet committed by the writer group (Kafka consumer lag)',
      registers,
    }),
    sourceGap: new Gauge({
      name: 'parley_history_source_gap_messages',
      help:
        'Acked chat messages stream CHAT evicted before CHAT_LOG copied them (missing from history), ' +
        'since CHAT_LOG was created; every bridge instance reports the same level: use max(), not sum()',
      registers,
    }),
    bridged: new Counter({
      name: 'parley_history_bridged_total',
      help: 'Messages forwarded to Kafka and acked there',
      registers,
    }),
    written: new Counter({
      name: 'parley_history_written_total',
      help: 'Messages written to Mongo (redeliveries included)',
      registers,
    }),
    batchSize: new Histogram({
      name: 'parley_history_batch_size',
      help: 'Messages per batch, by stage (bridge: JetStream pull -> Kafka send; writer: Mongo bulk write)',
      labelNames: ['stage'],
      buckets: BATCH_BUCKETS,
      registers,
    }),
    sendMs: new Histogram({
      name: 'parley_history_kafka_send_ms',
      help: 'Bridge batch send to Kafka ack',
      buckets: LATENCY_BUCKETS_MS,
      registers,
    }),
    writeMs: new Histogram({
      name: 'parley_history_write_ms',
      help: 'Mongo bulk write latency of one batch (successful attempt)',
      buckets: LATENCY_BUCKETS_MS,
      registers,
    }),
    persistLag: new Histogram({
      name: 'parley_history_persist_lag_ms',
      help: 'End-to-end persistence lag: message timestamp (publish) to written in Mongo',
      buckets: LAG_BUCKETS_MS,
      registers,
    }),
    retries: new Counter({
      name: 'parley_history_retries_total',
      help: 'Failed attempts that will be retried, by stage (bridge: Kafka send; writer: Mongo write)',
      labelNames: ['stage'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'parley_history_dead_letters_total',
      help: 'Records moved to the dead-letter topic (unparseable or invalid)',
      registers,
    }),
    queries: new Counter({
      name: 'parley_history_queries_total',
      help: 'history.query requests by op and result (ok or error code)',
      labelNames: ['op', 'result'],
      registers,
    }),
    queryMs: new Histogram({
      name: 'parley_history_query_ms',
      help: 'history.query latency by op',
      labelNames: ['op'],
      buckets: LATENCY_BUCKETS_MS,
      registers,
    }),
  };
}

export type HistoryMetrics = ReturnType<typeof createHistoryMetrics>;
