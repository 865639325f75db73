/**
 * The ops page's sections, one render function each: tiles, gateways, top rooms, closes and
 * errors by code, presence, history, notify, and every instance's latest heartbeat.
 */
import { $, el } from '../dom.js';
import { chart, nameCell, table } from './charts.js';
import { fmt, mb, num, short } from './format.js';
import { cluster, ofService, rateSeries, series, stale, sumSeries } from './stats.js';

/** One chart series per instance: `points(history)` gives its [ts, value] pairs. */
const perInstance = (list, points) =>
  list.map((i) => ({ name: short(i.instance), points: points(i.history) }));
/** Per instance, a sample field as it is. */
const fieldOf = (list, f) => perInstance(list, (h) => series(h, (s) => s[f]));

function renderTiles(gws, presence, history, notify) {
  const sumLast = (list, f) => list.reduce((a, i) => a + num(i.last?.[f]), 0);
  // A level every history instance reports alike (messages lost before the history feed copied them).
  const maxLast = (list, f) => list.reduce((a, i) => Math.max(a, num(i.last?.[f])), 0);
  const leader = presence.find((p) => p.last?.leader) ?? presence[0];
  const notifyRate = notify.reduce((a, i) => a + num(rateSeries(i.history, 'deliveredLive').at(-1)?.[1]), 0);
  const tiles = [
    ['total-connections', 'connections', fmt(sumLast(gws, 'connections'), 0)],
    ['gateways', 'gateways', String(gws.length)],
    ['msgs-in', 'messages in /s', fmt(sumLast(gws, 'publishesPerSec'))],
    ['deliveries', 'deliveries /s', fmt(sumLast(gws, 'deliveriesPerSec'))],
    ['online-users', 'users online', fmt(leader?.last?.onlineUsers)],
    ['bridge-pending', 'JetStream pending', fmt(sumLast(history, 'bridgePending'), 0)],
    ['kafka-lag', 'Kafka lag (history)', fmt(sumLast(history, 'kafkaLag'), 0)],
    ['source-gap', 'lost before history feed', fmt(maxLast(history, 'sourceGap'), 0)],
    ['notify-live', 'notifications live /s', fmt(notifyRate)],
  ];
  $('tiles').replaceChildren(
    ...tiles.map(([id, k, v]) =>
      el(
        'div',
        { class: 'tile' },
        el('div', { class: 'v', id: `tile-${id}` }, v),
        el('div', { class: 'k' }, k),
      ),
    ),
  );
}

function renderGateways(gws) {
  const per = (f) => fieldOf(gws, f);
  $('gateway-charts').replaceChildren(
    chart('connections (cluster)', [
      { name: 'connections', points: sumSeries(per('connections').map((s) => s.points)) },
    ]),
    chart('messages /s (cluster)', [
      { name: 'in (publishes)', points: sumSeries(per('publishesPerSec').map((s) => s.points)) },
      { name: 'out (deliveries)', points: sumSeries(per('deliveriesPerSec').map((s) => s.points)) },
    ]),
    chart('event-loop lag p99', per('eventLoopLagP99Ms'), ' ms'),
    chart(
      'memory RSS',
      perInstance(gws, (h) => series(h, (s) => s.rssBytes / 1048576)),
      ' MB',
    ),
    chart('publish → ack (mean)', per('publishAckMs'), ' ms'),
    chart('publish → deliver (mean)', per('publishDeliverMs'), ' ms'),
  );
  table(
    'gateways',
    ['instance', 'conns', 'rooms', 'in /s', 'frames /s', 'out /s', 'RSS', 'loop p99', 'ack ms', 'state'],
    gws.map((i) => {
      const s = i.last ?? {};
      return [
        nameCell(i),
        fmt(s.connections, 0),
        fmt(s.rooms, 0),
        fmt(s.publishesPerSec),
        fmt(s.framesInPerSec),
        fmt(s.deliveriesPerSec),
        mb(s.rssBytes),
        `${fmt(s.eventLoopLagP99Ms)} ms`,
        fmt(s.publishAckMs, 2),
        s.draining ? 'draining' : stale(s) ? 'silent' : 'serving',
      ];
    }),
  );
}

function renderRooms(gws) {
  const rooms = new Map();
  for (const i of gws)
    for (const r of Array.isArray(i.last?.topRooms) ? i.last.topRooms : [])
      rooms.set(r.room, (rooms.get(r.room) ?? 0) + num(r.members));
  const top = [...rooms].sort((a, b) => b[1] - a[1]).slice(0, 15);
  table(
    'rooms',
    ['room', 'local members (sum over gateways)'],
    top.map(([r, n]) => [r, fmt(n, 0)]),
  );
}

function renderCodes(gws) {
  const byCode = (field) => {
    const m = new Map();
    for (const i of gws)
      for (const s of i.history)
        for (const [code, v] of Object.entries(s[field] ?? {})) {
          const arr = m.get(code) ?? [];
          arr.push([s.ts, num(v)]);
          m.set(code, arr);
        }
    return [...m].map(([code, pts]) => ({ name: code, points: sumSeries([pts]) }));
  };
  const closes = byCode('closesPerSec');
  const errors = byCode('errorsPerSec');
  $('error-charts').replaceChildren(chart('closes /s by code', closes), chart('errors /s by code', errors));
  const latest = (field) => {
    const m = new Map();
    for (const i of gws)
      for (const [k, v] of Object.entries(i.last?.[field] ?? {})) m.set(k, (m.get(k) ?? 0) + num(v));
    return m;
  };
  const lc = latest('closesPerSec');
  const le = latest('errorsPerSec');
  table(
    'codes',
    ['kind', 'code', 'now /s'],
    [...[...lc].map(([k, v]) => ['close', k, fmt(v)]), ...[...le].map(([k, v]) => ['error', k, fmt(v)])],
  );
}

function renderPresence(presence) {
  $('presence-charts').replaceChildren(
    chart(
      'online',
      presence.flatMap((i) => [
        { name: `users ${short(i.instance)}`, points: series(i.history, (s) => s.onlineUsers) },
        { name: `conns ${short(i.instance)}`, points: series(i.history, (s) => s.connections) },
      ]),
    ),
    chart('events /s', fieldOf(presence, 'eventsPerSec')),
  );
  table(
    'presence',
    ['instance', 'users', 'conns', 'rooms', 'gateways', 'events /s', 'role'],
    presence.map((i) => {
      const s = i.last ?? {};
      return [
        nameCell(i),
        fmt(s.onlineUsers, 0),
        fmt(s.connections, 0),
        fmt(s.rooms, 0),
        fmt(s.gatewaysAlive, 0),
        fmt(s.eventsPerSec),
        s.leader ? 'leader' : s.ready === false ? 'rebuilding' : 'follower',
      ];
    }),
  );
}

function renderHistory(history) {
  const per = (f) => fieldOf(history, f);
  $('history-charts').replaceChildren(
    chart('JetStream pending (bridge)', per('bridgePending')),
    chart('Kafka lag (writer)', per('kafkaLag')),
    chart('Mongo writes /s', per('writtenPerSec')),
  );
  table(
    'history',
    [
      'instance',
      'JS pending',
      'Kafka lag',
      'writes /s',
      'bridged',
      'written',
      'dead letters',
      'lost before feed',
    ],
    history.map((i) => {
      const s = i.last ?? {};
      return [
        nameCell(i),
        fmt(s.bridgePending, 0),
        fmt(s.kafkaLag, 0),
        fmt(s.writtenPerSec),
        fmt(s.bridged, 0),
        fmt(s.written, 0),
        fmt(s.deadLetters, 0),
        fmt(s.sourceGap, 0),
      ];
    }),
  );
}

function renderNotify(notify) {
  const rates = (f) => perInstance(notify, (h) => rateSeries(h, f));
  const lagTotal = (s) => Object.values(s.kafkaLag ?? {}).reduce((a, v) => a + num(v), 0);
  $('notify-charts').replaceChildren(
    chart('accepted /s', rates('accepted')),
    chart('delivered live /s', rates('deliveredLive')),
    chart('rejected /s', rates('rejected')),
    chart(
      'Kafka lag (all groups)',
      perInstance(notify, (h) => series(h, lagTotal)),
    ),
  );
  table(
    'notify',
    ['instance', 'accepted', 'rejected', 'stored', 'delivered live', 'Kafka lag'],
    notify.map((i) => {
      const s = i.last ?? {};
      const lag = Object.entries(s.kafkaLag ?? {})
        .map(([g, v]) => `${g}: ${fmt(v, 0)}`)
        .join(', ');
      return [
        nameCell(i),
        fmt(s.accepted, 0),
        fmt(s.rejected, 0),
        fmt(s.stored, 0),
        fmt(s.deliveredLive, 0),
        lag || '–',
      ];
    }),
  );
}

function renderInstances() {
  const all = [...cluster.instances.values()];
  table(
    'instances',
    ['service / instance', 'age', 'fields'],
    all.map((i) => {
      const s = i.last ?? {};
      const fields = Object.entries(s)
        .filter(([k, v]) => !['service', 'instance', 'ts'].includes(k) && typeof v !== 'object')
        .map(([k, v]) => `${k}=${fmt(v)}`)
        .join('  ');
      const cell = el(
        'td',
        { class: stale(s) ? 'stale' : undefined, title: i.instance },
        `${i.service} / ${short(i.instance)}`,
      );
      const f = el('td', {}, fields);
      f.style.textAlign = 'left';
      f.style.whiteSpace = 'normal';
      return [cell, `${((cluster.now - s.ts) / 1000).toFixed(0)} s`, f];
    }),
  );
}

/** Redraws every section from the merged samples. */
export function render() {
  const gws = ofService('gateway');
  const presence = ofService('presence');
  const history = ofService('history');
  const notify = ofService('notify');
  renderTiles(gws, presence, history, notify);
  renderGateways(gws);
  renderRooms(gws);
  renderCodes(gws);
  renderPresence(presence);
  renderHistory(history);
  renderNotify(notify);
  renderInstances();
}
