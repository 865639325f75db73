/**
 * The message list of the room shown: history pages, this user's sends from pending to acked (or
 * failed, with retry), gaps recovery could not fill, and the read marker.
 */
import { $, el } from '../dom.js';
import { scheduleConvos } from './convos.js';
import { bodyText, displayName, roomLabel, rooms, state, view } from './state.js';
import { banner } from './ui.js';

const PAGE = 50;

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function send(text) {
  const room = state.active;
  const r = view(room);
  const cid = newId();
  r.pending.set(cid, { cid, body: text, state: 'pending' });
  renderMessages('bottom');
  publish(r, cid);
  state.client.typing(room, false);
}

function publish(r, cid) {
  const p = r.pending.get(cid);
  if (!p) return;
  p.state = 'pending';
  state.client
    .publish(r.name, p.body, { clientMsgId: cid })
    .then((ack) => {
      p.state = 'acked';
      p.seq = ack.seq;
      // The message frame usually arrives first; if it did, the pending entry is already gone.
      if (r.msgs.has(ack.seq)) r.pending.delete(cid);
    })
    .catch((e) => {
      p.state = 'failed';
      p.error = e.message;
    })
    .finally(() => r.name === state.active && renderMessages());
}

export function onGap(g) {
  const r = view(g.room);
  r.gaps.push(g);
  banner(
    g.epochChanged
      ? `${roomLabel(g.room)}: the server's message stream was recreated; older messages may be missing.`
      : `${roomLabel(g.room)}: messages after seq ${g.from} up to ${g.to} could not be recovered.`,
    'warn',
  );
  if (g.room === state.active) renderMessages();
}

function messageEl(m) {
  const mine = m.from === state.me;
  return el(
    'li',
    { class: mine ? 'msg mine' : 'msg', 'data-seq': m.seq, 'data-from': m.from, 'data-state': 'acked' },
    el(
      'div',
      { class: 'meta' },
      el('span', { class: 'name', text: m.name ?? displayName(m.from) }),
      el('time', {
        class: 'dim',
        text: new Date(m.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
        title: `seq ${m.seq}`,
      }),
      mine ? el('span', { class: 'tick', title: `acked · seq ${m.seq}`, text: '✓' }) : undefined,
    ),
    el('div', { class: 'body', text: bodyText(m.body) }),
  );
}

function pendingEl(r, p) {
  const tick =
    p.state === 'failed'
      ? el(
          'span',
          { class: 'tick failed' },
          `failed: ${p.error} `,
          el('button', { type: 'button', class: 'link', on: { click: () => publish(r, p.cid) } }, 'retry'),
        )
      : el('span', { class: 'tick', text: p.state === 'acked' ? '✓' : 'sending…' });
  return el(
    'li',
    { class: 'msg mine', 'data-state': p.state, 'data-cid': p.cid },
    el('div', { class: 'meta' }, el('span', { class: 'name', text: displayName(state.me) }), tick),
    el('div', { class: 'body', text: bodyText(p.body) }),
  );
}

function gapEl(g) {
  const text = g.epochChanged
    ? 'The message stream was recreated here: older messages may be missing.'
    : `Messages after seq ${g.from} up to ${g.to} could not be recovered.`;
  return el('li', { class: 'gap', text });
}

/** `where`: 'bottom' scrolls down, 'keep' leaves the position, default follows when at the bottom. */
export function renderMessages(where) {
  const r = state.active && rooms.get(state.active);
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  if (!r) {
    $('msg-list').replaceChildren();
    return;
  }
  const items = [...r.msgs.values()].map((m) => ({ key: m.seq, m }));
  for (const g of r.gaps) items.push({ key: g.from + 0.5, g });
  items.sort((a, b) => a.key - b.key);
  const els = items.map(({ m, g }) => {
    if (g) return gapEl(g);
    const k = `m${m.seq}`;
    const cached = r.els.get(k);
    if (cached) return cached;
    const e = messageEl(m);
    r.els.set(k, e);
    return e;
  });
  for (const p of r.pending.values()) els.push(pendingEl(r, p));
  $('msg-list').replaceChildren(...els);
  renderOlder();
  if (where === 'bottom' || (where !== 'keep' && atBottom)) list.scrollTop = list.scrollHeight;
}

function renderOlder() {
  const r = state.active && rooms.get(state.active);
  $('older').textContent = !r
    ? ''
    : r.loading
      ? 'loading older messages…'
      : r.more
        ? 'scroll up for older messages'
        : `beginning of ${roomLabel(r.name)}`;
}

/** Loads the latest page (`initial`) or the page before the oldest message shown. */
export async function loadOlder(r, initial = false) {
  if (r.loading || (!initial && !r.more)) return;
  r.loading = true;
  renderOlder();
  const seqs = [...r.msgs.keys()];
  const before = initial || seqs.length === 0 ? undefined : Math.min(...seqs);
  const list = $('messages');
  const fromBottom = list.scrollHeight - list.scrollTop;
  try {
    const page = await state.client.history(
      r.name,
      before === undefined ? { limit: PAGE } : { before, limit: PAGE },
    );
    for (const m of page.messages) r.msgs.set(m.seq, m);
    r.more = page.more;
  } catch (e) {
    banner(`History of ${roomLabel(r.name)}: ${e.message}`, 'warn', 5000);
  } finally {
    r.loading = false;
  }
  if (r.name !== state.active) return;
  renderMessages(initial ? 'bottom' : 'keep');
  if (!initial) list.scrollTop = list.scrollHeight - fromBottom;
  markRead(r);
  // A short page that does not fill the view cannot be scrolled up: fetch the next one now.
  if (r.more && list.scrollHeight <= list.clientHeight) void loadOlder(r);
}

let readTimer;
/** Moves the read marker to the newest message shown, once the page is visible. */
export function markRead(r) {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    if (r.name !== state.active || document.hidden || !r.joined) return;
    const top = Math.max(0, ...r.msgs.keys());
    if (top <= r.readSeq) return;
    r.readSeq = top;
    r.unread = 0;
    await state.client.read(r.name, top).catch(() => {});
    scheduleConvos();
  }, 300);
}
