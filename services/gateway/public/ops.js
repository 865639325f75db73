// Parley ops dashboard: polls GET /v1/ops/stats (admin JWT) every 2 s and draws the cluster.
// No framework, no external resources. All data is rendered with textContent / SVG attributes,
// never parsed as HTML.

const TOKEN_KEY = 'parley.ops.token';
const POLL_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#4ea1ff', '#ffb84e', '#4cd97b', '#ff6b6b', '#c38bff', '#4ee0d0', '#f0e04e', '#ff8bd0'];

const $ = (id) => document.getElementById(id);

/** el('td', {class: 'x'}, 'text', child) — strings become text nodes. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

const fmt = (v, digits = 1) => {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(digits)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(digits)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(digits)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
};
const mb = (b) => (typeof b === 'number' ? `${(b / 1048576).toFixed(0)} MB` : '–');
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

// ---- state --------------------------------------------------------------------------------

/** key "service/instance" -> { service, instance, last, history[] } */
const instances = new Map();
let since = 0;
let historyMs = 5 * 60_000;
let periodMs = POLL_MS;
let serverNow = Date.now();
let timer;

function merge(snap) {
  historyMs = snap.historyMs;
  periodMs = snap.periodMs;
  serverNow = snap.now;
  const seen = new Set();
  for (const i of snap.instances) {
    const key = `${i.service}/${i.instance}`;
    seen.add(key);
    const cur = instances.get(key) ?? { service: i.service, instance: i.instance, history: [] };
    const lastTs = cur.history.at(-1)?.ts ?? 0;
    for (const s of i.history) if (s.ts > lastTs) cur.history.push(s);
    const cutoff = snap.now - historyMs;
    while (cur.history.length > 1 && cur.history[0].ts < cutoff) cur.history.shift();
    cur.last = i.last;
    instances.set(key, cur);
  }
  for (const k of instances.keys()) if (!seen.has(k)) instances.delete(k);
  since = Math.max(since, ...[...instances.values()].map((i) => i.last?.ts ?? 0));
}

const ofService = (svc) => [...instances.values()].filter((i) => i.service === svc);

/** Per-instance rate of a cumulative counter field, from consecutive samples. */
function rateSeries(hist, field) {
  const out = [];
  for (let k = 1; k < hist.length; k++) {
    const a = hist[k - 1];
    const b = hist[k];
    const dt = (b.ts - a.ts) / 1000;
    if (dt > 0) out.push([b.ts, Math.max(0, (num(b[field]) - num(a[field])) / dt)]);
  }
  return out;
}

const series = (hist, pick) => hist.map((s) => [s.ts, pick(s)]).filter(([, v]) => typeof v === 'number');

/** Sums the series of several instances into one, on the heartbeat period grid. */
function sumSeries(list) {
  const buckets = new Map();
  for (const pts of list) {
    const seen = new Map();
    for (const [t, v] of pts) seen.set(Math.round(t / periodMs), v); // last sample per bucket
    for (const [b, v] of seen) buckets.set(b, (buckets.get(b) ?? 0) + v);
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([b, v]) => [b * periodMs, v]);
}

// ---- charts -------------------------------------------------------------------------------

/** A small line chart: series = [{name, points: [[ts, value]]}], x = the last historyMs. */
function chart(title, list, unit = '') {
  const W = 300;
  const H = 90;
  const x0 = serverNow - historyMs;
  let max = 0;
  for (const s of list) for (const [, v] of s.points) max = Math.max(max, v);
  const top = max > 0 ? max * 1.15 : 1;
  const box = el('div', { class: 'chart' });
  const latest = list.map((s) => s.points.at(-1)?.[1]).filter((v) => v !== undefined);
  const now = latest.length === 1 ? `${fmt(latest[0])}${unit}` : `max ${fmt(max)}${unit}`;
  box.append(el('div', { class: 'title' }, el('span', {}, title), el('span', {}, now)));
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img' });
  const label = svg('title');
  label.textContent = title;
  g.append(label);
  for (const y of [0.25, 0.5, 0.75])
    g.append(svg('line', { x1: 0, x2: W, y1: H * y, y2: H * y, stroke: '#263241', 'stroke-width': 1 }));
  list.forEach((s, i) => {
    if (s.points.length === 0) return;
    const pts = s.points
      .map(
        ([t, v]) => `${(((t - x0) / historyMs) * W).toFixed(1)},${(H - 2 - (v / top) * (H - 4)).toFixed(1)}`,
      )
      .join(' ');
    g.append(
      svg('polyline', {
        points: pts,
        fill: 'none',
        stroke: COLORS[i % COLORS.length],
        'stroke-width': 1.5,
        'vector-effect': 'non-scaling-stroke',
      }),
    );
  });
  box.append(g);
  if (list.length > 1 || (list[0] && list[0].name !== title)) {
    const legend = el('div', { class: 'legend' });
    list.forEach((s, i) => {
      const sw = el('i');
      sw.style.background = COLORS[i % COLORS.length];
      legend.append(el('span', {}, sw, s.name));
    });
    box.append(legend);
  }
  return box;
}

function table(id, head, rows) {
  const t = $(id);
  const thead = el('tr', {}, ...head.map((h) => el('th', {}, h)));
  const body = rows.length
    ? rows.map((r) => el('tr', {}, ...r.map((c) => (c instanceof Node ? c : el('td', {}, c)))))
    : [el('tr', {}, el('td', { class: 'empty', colspan: head.length }, 'no data yet'))];
  t.replaceChildren(thead, ...body);
}

const short = (id) => (id.length > 28 ? `${id.slice(0, 12)}…${id.slice(-12)}` : id);
const stale = (s) => serverNow - (s?.ts ?? 0) > 3 * periodMs;
const nameCell = (i) =>
  el('td', { class: stale(i.last) ? 'stale' : undefined, title: i.instance }, short(i.instance));

// ---- sections -----------------------------------------------------------------------------

function renderTiles(gws, presence, history, notify) {
  const sumLast = (list, f) => list.reduce((a, i) => a + num(i.last?.[f]), 0);
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
  const per = (f) => gws.map((i) => ({ name: short(i.instance), points: series(i.history, (s) => s[f]) }));
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
      gws.map((i) => ({ name: short(i.instance), points: series(i.history, (s) => s.rssBytes / 1048576) })),
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
    chart(
      'events /s',
      presence.map((i) => ({ name: short(i.instance), points: series(i.history, (s) => s.eventsPerSec) })),
    ),
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
  const per = (f) =>
    history.map((i) => ({ name: short(i.instance), points: series(i.history, (s) => s[f]) }));
  $('history-charts').replaceChildren(
    chart('JetStream pending (bridge)', per('bridgePending')),
    chart('Kafka lag (writer)', per('kafkaLag')),
    chart('Mongo writes /s', per('writtenPerSec')),
  );
  table(
    'history',
    ['instance', 'JS pending', 'Kafka lag', 'writes /s', 'bridged', 'written', 'dead letters'],
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
      ];
    }),
  );
}

function renderNotify(notify) {
  const rates = (f) => notify.map((i) => ({ name: short(i.instance), points: rateSeries(i.history, f) }));
  const lagTotal = (s) => Object.values(s.kafkaLag ?? {}).reduce((a, v) => a + num(v), 0);
  $('notify-charts').replaceChildren(
    chart('accepted /s', rates('accepted')),
    chart('delivered live /s', rates('deliveredLive')),
    chart('rejected /s', rates('rejected')),
    chart(
      'Kafka lag (all groups)',
      notify.map((i) => ({ name: short(i.instance), points: series(i.history, lagTotal) })),
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
  const all = [...instances.values()];
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
      return [cell, `${((serverNow - s.ts) / 1000).toFixed(0)} s`, f];
    }),
  );
}

function render() {
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

// ---- polling and sign-in ------------------------------------------------------------------

function setStatus(text, cls = '') {
  const s = $('status');
  s.textContent = text;
  s.className = `status ${cls}`;
}

async function poll() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return showSignin();
  try {
    const res = await fetch(`/v1/ops/stats${since ? `?since=${since}` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
      cache: 'no-store',
    });
    if (res.status === 401 || res.status === 403) {
      const body = await res.json().catch(() => ({}));
      localStorage.removeItem(TOKEN_KEY);
      return showSignin(`${res.status}: ${body.error ?? 'not allowed'}`);
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const snap = await res.json();
    merge(snap);
    render();
    setStatus(
      `live · ${instances.size} instances · via ${short(snap.self)} · ${new Date(snap.now).toLocaleTimeString()}`,
      'ok',
    );
  } catch (e) {
    setStatus(`disconnected (${e.message}); retrying`, 'bad');
  }
  timer = setTimeout(poll, POLL_MS);
}

function showSignin(error = '') {
  clearTimeout(timer);
  $('signin').hidden = false;
  $('dashboard').hidden = true;
  $('signout').hidden = true;
  $('token-error').textContent = error;
  setStatus('signed out');
}

function showDashboard() {
  $('signin').hidden = true;
  $('dashboard').hidden = false;
  $('signout').hidden = false;
  instances.clear();
  since = 0;
  clearTimeout(timer);
  poll();
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token-input').value.trim();
  if (!t) {
    $('token-error').textContent = 'paste a token first';
    return;
  }
  localStorage.setItem(TOKEN_KEY, t);
  $('token-input').value = '';
  showDashboard();
});

$('dev-token').addEventListener('click', async () => {
  const res = await fetch('/v1/dev/token?sub=ops').catch(() => undefined);
  const body = res ? await res.json().catch(() => ({})) : {};
  if (!res?.ok || !body.token) {
    $('token-error').textContent = `no dev token: ${body.error ?? 'server unreachable'}`;
    return;
  }
  localStorage.setItem(TOKEN_KEY, body.token);
  showDashboard();
});

$('signout').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  showSignin();
});

if (localStorage.getItem(TOKEN_KEY)) showDashboard();
else showSignin();
