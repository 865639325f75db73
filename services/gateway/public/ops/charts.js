/** The ops page's drawing: small SVG line charts and tables, data set as text and attributes only. */
import { $, el } from '../dom.js';
import { fmt, short } from './format.js';
import { cluster, stale } from './stats.js';

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#4ea1ff', '#ffb84e', '#4cd97b', '#ff6b6b', '#c38bff', '#4ee0d0', '#f0e04e', '#ff8bd0'];

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** A small line chart: series = [{name, points: [[ts, value]]}], x = the last historyMs. */
export function chart(title, list, unit = '') {
  const { historyMs } = cluster;
  const W = 300;
  const H = 90;
  const x0 = cluster.now - historyMs;
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

/** Fills the table `id`: a header row, then one row per entry (cells: text or a ready <td>). */
export function table(id, head, rows) {
  const t = $(id);
  const thead = el('tr', {}, ...head.map((h) => el('th', {}, h)));
  const body = rows.length
    ? rows.map((r) => el('tr', {}, ...r.map((c) => (c instanceof Node ? c : el('td', {}, c)))))
    : [el('tr', {}, el('td', { class: 'empty', colspan: head.length }, 'no data yet'))];
  t.replaceChildren(thead, ...body);
}

/** An instance's first cell: its short id, dimmed when it has gone quiet, the full id on hover. */
export const nameCell = (i) =>
  el('td', { class: stale(i.last) ? 'stale' : undefined, title: i.instance }, short(i.instance));
