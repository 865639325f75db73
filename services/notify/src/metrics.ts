/** Notify's Prometheus metrics (issue 6 §6): requests by result, stored, delivered live, backlog, lag. */
import {
  Counter,
  createRegistry,
  Gauge,
  Histogram,
  LATENCY_BUCKETS_MS,
  type Registry,
} from '@parley/metrics';

export function createNotifyMetrics(instance: string) {
  const registry: Registry = createRegistry('notify', instance);
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'parley_notify_requests_total',
      help: 'Notification requests by source (http, kafka, mention) and result (accepted, replayed, invalid, unauthorized, forbidden, too_large, failed)',
      labelNames: ['source', 'result'],
      registers,
    }),
    stored: new Counter({
      name: 'parley_notify_stored_total',
      help: 'Per-user notification rows written to the inbox (duplicates of a retry included)',
      registers,
    }),
    deliveredLive: new Counter({
      name: 'parley_notify_delivered_live_total',
      help: 'Notification and read-sync frames published to user.<id> for live delivery',
      registers,
    }),
    acceptLatency: new Histogram({
      name: 'parley_notify_accept_ms',
      help: 'Time from a valid request to its recipients stored (the 202), ms',
      buckets: LATENCY_BUCKETS_MS,
      registers,
    }),
    writeBatch: new Histogram({
      name: 'parley_notify_write_batch_size',
      help: 'Documents per store write of the group commits, by kind (rows: inbox rows, claims: idempotency keys, marks: live-delivery markers)',
      labelNames: ['kind'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    unreadBacklog: new Histogram({
      name: 'parley_notify_unread_backlog',
      help: 'Unread notifications of each user at connect (one sample per user per gateway connect batch); exact up to 1000 plus the page, so the +Inf bucket means more than 1000',
      buckets: [0, 1, 5, 10, 50, 100, 500, 1000],
      registers,
    }),
    purged: new Counter({
      name: 'parley_notify_purged_total',
      help: 'Expired notifications and idempotency keys deleted by the periodic purge (NOTIFY_PURGE_INTERVAL)',
      registers,
    }),
    markedRead: new Counter({
      name: 'parley_notify_read_total',
      help: 'Inbox rows marked read by their user (compare with parley_notify_stored_total)',
      registers,
    }),
    kafkaLag: new Gauge({
      name: 'parley_notify_kafka_lag',
      help: 'Records not yet committed by a consumer group',
      labelNames: ['group'],
      registers,
    }),
    queries: new Counter({
      name: 'parley_notify_queries_total',
      help: 'notify.query requests by op and result (ok, bad_request, unavailable, deadline: dropped unrun because the asker had given up)',
      labelNames: ['op', 'result'],
      registers,
    }),
  };
}

export type NotifyMetrics = ReturnType<typeof createNotifyMetrics>;
