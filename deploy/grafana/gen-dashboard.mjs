// Generates deploy/grafana/dashboards/parley.json (committed). Panels are listed here as
// [title, unit, [[legend, PromQL], ...]] so the dashboard stays reviewable; run after editing:
//   node deploy/grafana/gen-dashboard.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DS = { type: 'prometheus', uid: 'parley-prometheus' };
/** The p50 and p99 series of a histogram, over the cluster. */
const p50p99 = (m) =>
  [
    ['p50', 0.5],
    ['p99', 0.99],
  ].map(([legend, p]) => [legend, `histogram_quantile(${p}, sum by (le) (rate(${m}_bucket[1m])))`]);

/** Rows of panels: [row title, [[panel title, unit, [[legend, expr], ...]], ...]] */
export const ROWS = [
  [
    'Gateways',
    [
      [
        'Connections',
        'short',
        [
          ['{{instance}}', 'sum by (instance) (parley_gateway_connections)'],
          ['total', 'sum(parley_gateway_connections)'],
        ],
      ],
      [
        'Messages in / out per second',
        'ops',
        [
          ['in (publish frames)', 'sum(rate(parley_gateway_frames_in_total{type="publish"}[1m]))'],
          ['out (deliveries)', 'sum(rate(parley_gateway_deliveries_total[1m]))'],
          ['all client frames', 'sum(rate(parley_gateway_frames_in_total[1m]))'],
        ],
      ],
      [
        'Deliveries per second by gateway',
        'ops',
        [['{{instance}}', 'sum by (instance) (rate(parley_gateway_deliveries_total[1m]))']],
      ],
      [
        'Connects and joins per second',
        'ops',
        [
          ['connects', 'sum(rate(parley_gateway_connects_total[1m]))'],
          ['joins', 'sum(rate(parley_gateway_joins_total[1m]))'],
        ],
      ],
    ],
  ],
  [
    'Latency',
    [
      ['Publish → ack (JetStream PubAck)', 'ms', p50p99('parley_gateway_publish_ack_ms')],
      ['Publish → deliver (fan-out)', 'ms', p50p99('parley_gateway_publish_deliver_ms')],
      ['Persistence lag (publish → Mongo)', 'ms', p50p99('parley_history_persist_lag_ms')],
      [
        'Event-loop lag p99',
        's',
        [['{{service}} {{instance}}', 'max by (service, instance) (nodejs_eventloop_lag_p99_seconds)']],
      ],
    ],
  ],
  [
    'Errors and backpressure',
    [
      ['Errors by code', 'ops', [['{{code}}', 'sum by (code) (rate(parley_gateway_errors_total[1m]))']]],
      ['Closes by code', 'ops', [['{{code}}', 'sum by (code) (rate(parley_gateway_closes_total[1m]))']]],
      [
        'Slow consumers (4010) and dropped ephemeral',
        'ops',
        [
          ['slow consumer closes', 'sum(rate(parley_gateway_slow_consumer_closes_total[5m]))'],
          ['ephemeral cut-offs', 'sum(rate(parley_gateway_ephemeral_dropped_total[5m]))'],
        ],
      ],
      [
        'Rate-limited frames by kind',
        'ops',
        [['{{kind}}', 'sum by (kind) (rate(parley_gateway_rate_limited_total[1m]))']],
      ],
    ],
  ],
  [
    'History pipeline',
    [
      [
        'JetStream pending (bridge lag)',
        'short',
        [['{{instance}}', 'max by (instance) (parley_history_bridge_pending)']],
      ],
      [
        'Kafka consumer lag',
        'short',
        [
          ['history writer', 'max(parley_history_kafka_lag)'],
          ['notify {{group}}', 'max by (group) (parley_notify_kafka_lag)'],
        ],
      ],
      [
        'Mongo writes per second and batch size',
        'ops',
        [
          ['written/s', 'sum(rate(parley_history_written_total[1m]))'],
          ['bridged/s', 'sum(rate(parley_history_bridged_total[1m]))'],
          [
            'mean writer batch',
            'sum(rate(parley_history_batch_size_sum{stage="writer"}[1m])) / sum(rate(parley_history_batch_size_count{stage="writer"}[1m]))',
          ],
        ],
      ],
      [
        'Retries and dead letters',
        'ops',
        [
          ['retries {{stage}}', 'sum by (stage) (rate(parley_history_retries_total[5m]))'],
          ['dead letters', 'sum(rate(parley_history_dead_letters_total[5m]))'],
        ],
      ],
      [
        // Acked messages CHAT evicted before CHAT_LOG copied them: any value above 0 is data
        // missing from history (raise CHAT_WINDOW_MESSAGES or lower CHAT_FEED_MAX_UNCOPIED).
        'History feed gaps (must stay 0)',
        'short',
        [['messages lost to history', 'max(parley_history_source_gap_messages)']],
      ],
    ],
  ],
  [
    'Presence and notify',
    [
      [
        'Presence counts',
        'short',
        [
          ['online users', 'max(parley_presence_online_users)'],
          ['connections', 'max(parley_presence_connections)'],
          ['rooms', 'max(parley_presence_rooms)'],
          ['gateways alive', 'max(parley_presence_gateways_alive)'],
        ],
      ],
      [
        'Presence events per second',
        'ops',
        [['{{type}}', 'sum by (type) (rate(parley_presence_events_total[1m]))']],
      ],
      [
        'Notify requests by source and result',
        'ops',
        [['{{source}} {{result}}', 'sum by (source, result) (rate(parley_notify_requests_total[1m]))']],
      ],
      [
        'Notifications stored and delivered live',
        'ops',
        [
          ['stored', 'sum(rate(parley_notify_stored_total[1m]))'],
          ['delivered live', 'sum(rate(parley_notify_delivered_live_total[1m]))'],
        ],
      ],
      ['Unread notifications at connect', 'short', p50p99('parley_notify_unread_backlog')],
      [
        'Notify lookups by result (deadline = dropped unrun)',
        'ops',
        [['{{op}} {{result}}', 'sum by (op, result) (rate(parley_notify_queries_total[1m]))']],
      ],
    ],
  ],
  [
    'Processes',
    [
      [
        'Resident memory',
        'bytes',
        [['{{service}} {{instance}}', 'max by (service, instance) (process_resident_memory_bytes)']],
      ],
      [
        'CPU',
        'percentunit',
        [['{{service}} {{instance}}', 'sum by (service, instance) (rate(process_cpu_seconds_total[1m]))']],
      ],
    ],
  ],
];

export function dashboard() {
  const panels = [];
  let id = 1;
  let y = 0;
  for (const [row, list] of ROWS) {
    panels.push({
      id: id++,
      type: 'row',
      title: row,
      collapsed: false,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    list.forEach(([title, unit, targets], i) => {
      panels.push({
        id: id++,
        type: 'timeseries',
        title,
        datasource: DS,
        gridPos: { x: (i % 4) * 6, y: y + Math.floor(i / 4) * 8, w: 6, h: 8 },
        fieldConfig: { defaults: { unit, custom: { lineWidth: 1, fillOpacity: 5 } }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: targets.map(([legendFormat, expr], k) => ({
          refId: String.fromCharCode(65 + k),
          datasource: DS,
          expr,
          legendFormat,
        })),
      });
    });
    y += Math.ceil(list.length / 4) * 8;
  }
  return {
    uid: 'parley-overview',
    title: 'Parley overview',
    tags: ['parley'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [] },
    annotations: { list: [] },
    panels,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = new URL('./dashboards/parley.json', import.meta.url);
  writeFileSync(file, `${JSON.stringify(dashboard(), null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
}
