/**
 * The demo chat page, on the SDK bundle the gateway serves. No framework: a few maps of state and
 * render functions that rebuild small parts of the DOM. Every piece of user data (message bodies,
 * names, room ids, notification text) goes into the page through textContent only: never as HTML.
 */
import { ParleyClient } from '/static/parley-client.js';

const SESSION_KEY = 'parley.chat.session';
const DEFAULT_ROOMS = ['general', 'random', 'support'];
const PAGE = 50;
const CONVO_POLL_MS = 4000;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 8000;
const params = new URLSearchParams(location.search);
const IDLE_AWAY_MS = Number(params.get('idleAwayMs')) || 5 * 60_000;

const $ = (id) => document.getElementById(id);

/** Builds an element; strings among the children become text nodes, never markup. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}

// ---- state ----------------------------------------------------------------------------------

let client;
let me; // user id
const names = new Map(); // userId -> display name
const rooms = new Map(); // room -> view state
const contacts = new Map(); // userId -> status | 'offline' (watched DM partners)
const notifs = new Map(); // id -> notification
let convos = [];
let active;
let wasDown = false;
let recovering = false;
let replayed = 0;
let convoTimer;
let bannerTimer;

const displayName = (userId) => names.get(userId) ?? userId;
const roomsKey = () => `parley.chat.rooms.${me}`;
const activeKey = () => `parley.chat.active.${me}`;
const bodyText = (body) => (typeof body === 'string' ? body : JSON.stringify(body));

function view(name) {
  let r = rooms.get(name);
  if (!r) {
    r = {
      name,
      joined: false,
      joining: undefined,
      msgs: new Map(), // seq -> message
      pending: new Map(), // clientMsgId -> {cid, body, state, seq?, error?}
      gaps: [],
      els: new Map(), // render cache: key -> element
      more: true,
      loading: false,
      online: new Map(), // userId -> status
      typing: new Map(), // userId -> timer
      unread: 0,
      readSeq: 0,
    };
    rooms.set(name, r);
  }
  return r;
}

/** `# general`, `@ Bob` for `dm#alice,bob`, `proj: Ann, Bo` for other user-limited rooms. */
function roomLabel(room) {
  const i = room.indexOf('#');
  if (i < 0) return `# ${room}`;
  const others = room
    .slice(i + 1)
    .split(',')
    .filter((u) => u !== me);
  const who = others.map(displayName).join(', ') || 'just you';
  const base = room.slice(0, i);
  return base === 'dm' ? `@ ${who}` : `${base}: ${who}`;
}

const dmPartners = (room) =>
  room.includes('#')
    ? room
        .slice(room.indexOf('#') + 1)
        .split(',')
        .filter((u) => u !== me)
    : [];

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function claimsOf(jwt) {
  try {
    const b64 = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64));
  } catch {
    return {};
  }
}

// ---- banner and connection status -------------------------------------------------------------

function banner(text, kind = 'info', hideAfterMs = 0) {
  clearTimeout(bannerTimer);
  $('banner').hidden = false;
  $('banner').dataset.kind = kind;
  $('banner-text').textContent = text;
  if (hideAfterMs > 0) bannerTimer = setTimeout(() => ($('banner').hidden = true), hideAfterMs);
}

function connStatus(state, text) {
  $('conn').dataset.state = state;
  $('conn').textContent = text;
}

function onState(s) {
  if (s.state === 'connecting') connStatus('connecting', 'connecting…');
  else if (s.state === 'reconnecting') {
    wasDown = true;
    const why = s.code ? ` (closed ${s.code}${s.reason ? `: ${s.reason}` : ''})` : '';
    const wait = s.delayMs !== undefined ? ` in ${(s.delayMs / 1000).toFixed(1)} s` : '';
    connStatus('reconnecting', `reconnecting · attempt ${s.attempt ?? 1}`);
    banner(`Connection lost${why}. Reconnecting${wait}… messages you send are queued.`, 'warn');
  } else if (s.state === 'open') {
    me = client.userId;
    reapplyProfile();
    refreshConvos();
    if (wasDown) void recover();
    else connStatus('open', 'connected');
  } else if (s.state === 'closed') {
    connStatus('closed', 'disconnected');
    if (s.error) {
      localStorage.removeItem(SESSION_KEY);
      signedOut(`Disconnected: ${s.error.message}`);
    }
  }
}

/** After a reconnect the SDK rejoins every room with its cursor; join() resolves once each is live. */
async function recover() {
  wasDown = false;
  recovering = true;
  replayed = 0;
  const joined = [...rooms.values()].filter((r) => r.joined);
  connStatus('recovering', 'recovering…');
  banner(`Reconnected. Recovering ${joined.length} room(s)…`, 'info');
  const results = await Promise.allSettled(joined.map((r) => client.join(r.name)));
  recovering = false;
  const failed = results.filter((x) => x.status === 'rejected').length;
  for (const r of joined) void refreshPresence(r);
  connStatus('open', 'connected');
  const gaps = joined.reduce((n, r) => n + r.gaps.length, 0);
  banner(
    `Recovered: ${replayed} missed message(s) replayed in ${joined.length - failed} room(s)` +
      (failed ? `, ${failed} failed` : '') +
      (gaps ? `; ${gaps} gap(s) could not be filled` : ''),
    failed || gaps ? 'warn' : 'ok',
    failed || gaps ? 0 : 5000,
  );
}

function onGap(g) {
  const r = view(g.room);
  r.gaps.push(g);
  banner(
    g.epochChanged
      ? `${roomLabel(g.room)}: the server's message stream was recreated; older messages may be missing.`
      : `${roomLabel(g.room)}: messages after seq ${g.from} up to ${g.to} could not be recovered.`,
    'warn',
  );
  if (g.room === active) renderMessages();
}

// ---- rooms ----------------------------------------------------------------------------------

function saveRooms() {
  const joined = [...rooms.values()].filter((r) => r.joined || r.joining).map((r) => r.name);
  localStorage.setItem(roomsKey(), JSON.stringify(joined));
  if (active) localStorage.setItem(activeKey(), active);
}

function joinRoom(name) {
  const r = view(name);
  if (r.joined || r.joining) return r.joining ?? Promise.resolve();
  r.joining = client
    .join(name)
    .then(async () => {
      r.joined = true;
      await Promise.all([loadOlder(r, true), refreshPresence(r)]);
    })
    .catch((e) => {
      banner(`Cannot join ${roomLabel(name)}: ${e.message}`, 'error');
      rooms.delete(name);
      if (active === name) active = undefined;
      saveRooms();
      renderAll();
    })
    .finally(() => {
      r.joining = undefined;
      renderRooms();
      renderHead();
    });
  saveRooms();
  return r.joining;
}

function openRoom(name) {
  active = name;
  const r = view(name);
  r.unread = 0;
  void joinRoom(name);
  saveRooms();
  renderAll('bottom');
  $('send-text').focus();
  markRead(r);
}

async function leaveRoom(name) {
  const r = rooms.get(name);
  if (!r) return;
  rooms.delete(name);
  for (const t of r.typing.values()) clearTimeout(t);
  await client.leave(name).catch(() => {});
  if (active === name) active = undefined;
  saveRooms();
  if (!active) openRoom(DEFAULT_ROOMS[0]);
  else renderAll();
}

/** Loads the latest page (`initial`) or the page before the oldest message shown. */
async function loadOlder(r, initial = false) {
  if (r.loading || (!initial && !r.more)) return;
  r.loading = true;
  renderOlder();
  const seqs = [...r.msgs.keys()];
  const before = initial || seqs.length === 0 ? undefined : Math.min(...seqs);
  const list = $('messages');
  const fromBottom = list.scrollHeight - list.scrollTop;
  try {
    const page = await client.history(
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
  if (r.name !== active) return;
  renderMessages(initial ? 'bottom' : 'keep');
  if (!initial) list.scrollTop = list.scrollHeight - fromBottom;
  markRead(r);
  // A short page that does not fill the view cannot be scrolled up: fetch the next one now.
  if (r.more && list.scrollHeight <= list.clientHeight) void loadOlder(r);
}

async function refreshPresence(r) {
  try {
    const { users } = await client.presence(r.name);
    r.online = new Map(users.map((u) => [u.userId, u.status]));
  } catch {
    // not joined yet or the presence service is away; the join/leave events still arrive
  }
  if (r.name === active) renderOnline();
}

let readTimer;
/** Moves the read marker to the newest message shown, once the page is visible. */
function markRead(r) {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    if (r.name !== active || document.hidden || !r.joined) return;
    const top = Math.max(0, ...r.msgs.keys());
    if (top <= r.readSeq) return;
    r.readSeq = top;
    r.unread = 0;
    await client.read(r.name, top).catch(() => {});
    scheduleConvos();
  }, 300);
}

// ---- messages -------------------------------------------------------------------------------

function onMessage(m) {
  const r = view(m.room);
  if (recovering) replayed++;
  r.msgs.set(m.seq, m);
  if (m.from === me) r.pending.delete(m.clientMsgId);
  if (r.typing.has(m.from)) {
    clearTimeout(r.typing.get(m.from));
    r.typing.delete(m.from);
  }
  if (m.room === active && !document.hidden) markRead(r);
  else if (m.from !== me) {
    r.unread++;
    renderRooms();
  }
  if (m.room === active) {
    renderMessages();
    renderTyping();
  }
  scheduleConvos();
}

function send(text) {
  const room = active;
  const r = view(room);
  const cid = newId();
  r.pending.set(cid, { cid, body: text, state: 'pending' });
  renderMessages('bottom');
  publish(r, cid);
  client.typing(room, false);
}

function publish(r, cid) {
  const p = r.pending.get(cid);
  if (!p) return;
  p.state = 'pending';
  client
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
    .finally(() => r.name === active && renderMessages());
}

function messageEl(m) {
  const mine = m.from === me;
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
  const state =
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
    el('div', { class: 'meta' }, el('span', { class: 'name', text: displayName(me) }), state),
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
function renderMessages(where) {
  const r = active && rooms.get(active);
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
  const r = active && rooms.get(active);
  $('older').textContent = !r
    ? ''
    : r.loading
      ? 'loading older messages…'
      : r.more
        ? 'scroll up for older messages'
        : `beginning of ${roomLabel(r.name)}`;
}

// ---- typing ---------------------------------------------------------------------------------

function onTyping(t) {
  if (t.userId === me) return;
  const r = view(t.room);
  clearTimeout(r.typing.get(t.userId));
  if (t.on)
    r.typing.set(
      t.userId,
      setTimeout(() => {
        r.typing.delete(t.userId);
        renderTyping();
      }, TYPING_SHOW_MS),
    );
  else r.typing.delete(t.userId);
  if (t.room === active) renderTyping();
}

function renderTyping() {
  const r = active && rooms.get(active);
  const who = r ? [...r.typing.keys()].map(displayName) : [];
  $('typing').textContent =
    who.length === 0
      ? ''
      : who.length === 1
        ? `${who[0]} is typing…`
        : `${who.slice(0, -1).join(', ')} and ${who.at(-1)} are typing…`;
}

let typingIdle;
function onComposerInput() {
  if (!active) return;
  const room = active;
  const on = $('send-text').value.trim() !== '';
  client.typing(room, on);
  clearTimeout(typingIdle);
  if (on) typingIdle = setTimeout(() => client.typing(room, false), TYPING_IDLE_MS);
}

// ---- presence -------------------------------------------------------------------------------

function onPresence(type, p) {
  if (type === 'presence.update' && p.name) {
    // Messages already shown keep the name they were sent with; lists and labels follow the change.
    names.set(p.userId, p.name);
    renderAll();
  }
  const targets = p.room ? [rooms.get(p.room)].filter(Boolean) : [...rooms.values()];
  for (const r of targets) {
    if (type === 'presence.join') r.online.set(p.userId, r.online.get(p.userId) ?? 'online');
    else if (type === 'presence.leave') r.online.delete(p.userId);
    else if (p.status && (p.room || r.online.has(p.userId))) r.online.set(p.userId, p.status);
  }
  renderOnline();
}

function statusDot(status) {
  return el('span', { class: 'dot', 'data-status': status ?? 'offline', title: status ?? 'offline' });
}

function renderOnline() {
  const r = active && rooms.get(active);
  const users = r ? [...r.online] : [];
  users.sort(([a], [b]) => (a === me ? -1 : b === me ? 1 : displayName(a).localeCompare(displayName(b))));
  $('online-count').textContent = r ? `(${users.length})` : '';
  $('online').replaceChildren(
    ...users.map(([userId, status]) =>
      el(
        'li',
        { class: 'user', 'data-user': userId, 'data-status': status },
        statusDot(status),
        el('span', { class: 'name', text: displayName(userId), title: userId }),
        userId === me
          ? el('span', { class: 'dim', text: ' (you)' })
          : el(
              'button',
              {
                type: 'button',
                class: 'dm link',
                title: `Direct message ${displayName(userId)}`,
                on: { click: () => openRoom(client.dm([userId])) },
              },
              'DM',
            ),
      ),
    ),
  );
}

// ---- conversations --------------------------------------------------------------------------

function scheduleConvos() {
  clearTimeout(convoTimer);
  convoTimer = setTimeout(refreshConvos, 300);
}

async function refreshConvos() {
  clearTimeout(convoTimer);
  if (client?.state !== 'open') {
    convoTimer = setTimeout(refreshConvos, CONVO_POLL_MS);
    return;
  }
  try {
    convos = (await client.conversations({ limit: 30 })).items;
    const partners = new Set(convos.flatMap((c) => dmPartners(c.room)));
    const fresh = [...partners].filter((u) => !contacts.has(u));
    for (const u of fresh) contacts.set(u, 'offline');
    if (fresh.length) await client.watch(fresh);
  } catch {
    // the history service may be away; the list stays as it was and the next poll retries
  }
  renderConvos();
  convoTimer = setTimeout(refreshConvos, CONVO_POLL_MS);
}

function renderConvos() {
  const listed = new Set(convos.map((c) => c.room));
  // DMs opened here but not yet written to are shown too.
  const local = [...rooms.keys()]
    .filter((n) => n.includes('#') && !listed.has(n))
    .map((room) => ({ room, lastMessage: null, unread: 0 }));
  const items = [...local, ...convos];
  $('convos').replaceChildren(
    ...(items.length === 0
      ? [el('li', { class: 'dim', text: 'no conversations yet' })]
      : items.map((c) => {
          const unread = c.room === active ? 0 : c.unread;
          const partner = dmPartners(c.room);
          const preview = c.lastMessage
            ? `${c.lastMessage.from === me ? 'you' : (c.lastMessage.name ?? displayName(c.lastMessage.from))}: ${bodyText(c.lastMessage.body)}`
            : 'no messages yet';
          return el(
            'li',
            { class: c.room === active ? 'active' : undefined, 'data-room': c.room },
            el(
              'button',
              { type: 'button', class: 'item', on: { click: () => openRoom(c.room) } },
              partner.length === 1 ? statusDot(contacts.get(partner[0])) : undefined,
              el('span', { class: 'label', text: roomLabel(c.room) }),
              unread > 0 ? el('span', { class: 'badge', text: String(unread) }) : undefined,
              el('span', { class: 'preview dim', text: preview.slice(0, 80) }),
            ),
          );
        })),
  );
}

// ---- notifications --------------------------------------------------------------------------

function renderBell() {
  const unread = [...notifs.values()].filter((n) => !n.read);
  $('bell-count').hidden = unread.length === 0;
  $('bell-count').textContent = String(unread.length);
  const list = [...notifs.values()].sort((a, b) => b.createdAt - a.createdAt);
  $('notif-list').replaceChildren(
    ...(list.length === 0
      ? [el('li', { class: 'dim', text: 'nothing yet' })]
      : list.map((n) =>
          el(
            'li',
            { class: n.read ? 'notif-item' : 'notif-item unread', 'data-id': n.id },
            el('strong', { text: n.title }),
            el('div', { text: n.body }),
            el('time', { class: 'dim', text: new Date(n.createdAt).toLocaleString() }),
          ),
        )),
  );
}

async function markAllRead() {
  const ids = [...notifs.values()].filter((n) => !n.read).map((n) => n.id);
  if (ids.length === 0) return;
  try {
    await client.markNotificationsRead(ids);
    for (const id of ids) notifs.get(id).read = true;
  } catch (e) {
    banner(`Could not mark notifications read: ${e.message}`, 'warn', 5000);
  }
  renderBell();
}

// ---- rooms list, me, profile ------------------------------------------------------------------

function renderRooms() {
  const shown = [...new Set([...DEFAULT_ROOMS, ...[...rooms.keys()].filter((n) => !n.includes('#'))])];
  $('rooms').replaceChildren(
    ...shown.map((name) => {
      const r = rooms.get(name);
      const state = r?.joined ? 'joined' : r?.joining ? 'joining' : 'not joined';
      return el(
        'li',
        { class: name === active ? 'active' : undefined, 'data-room': name, 'data-state': state },
        el(
          'button',
          { type: 'button', class: 'item', title: state, on: { click: () => openRoom(name) } },
          el('span', { class: r?.joined ? 'label' : 'label dim', text: roomLabel(name) }),
          r?.unread ? el('span', { class: 'badge', text: String(r.unread) }) : undefined,
        ),
        r?.joined && !DEFAULT_ROOMS.includes(name)
          ? el(
              'button',
              { type: 'button', class: 'link leave', title: 'Leave', on: { click: () => leaveRoom(name) } },
              '×',
            )
          : undefined,
      );
    }),
  );
}

function renderMe() {
  if (!client || !me) return;
  $('me-name').textContent = displayName(me);
  $('me-dot').dataset.status = client.status;
  $('me-dot').title = client.status;
}

function renderHead() {
  const r = active && rooms.get(active);
  $('room-title').textContent = active ? roomLabel(active) : 'no room';
  $('room-info').textContent = !r ? '' : r.joined ? (active.includes('#') ? 'private' : '') : 'joining…';
  $('send-text').disabled = !active;
  $('send-btn').disabled = !active;
}

function renderAll(where) {
  renderHead();
  renderRooms();
  renderConvos();
  renderMessages(where);
  renderTyping();
  renderOnline();
  renderMe();
}

function reapplyProfile() {
  const chosen = localStorage.getItem(`parley.chat.name.${me}`);
  if (chosen) client.profile(chosen).catch(() => {});
}

async function saveProfile(name) {
  try {
    await client.profile(name);
    names.set(me, name);
    localStorage.setItem(`parley.chat.name.${me}`, name);
    $('profile').hidden = true;
    renderAll();
  } catch (e) {
    $('profile-error').textContent = e.message;
  }
}

// ---- sign in / out --------------------------------------------------------------------------

async function devToken(name) {
  const res = await fetch(`/v1/dev/token?sub=${encodeURIComponent(name)}`, { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (res.status === 404) throw new Error('dev tokens are disabled on this server: paste a JWT instead');
  if (!res.ok || !body.token) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body.token;
}

async function connect(s) {
  const first = s.mode === 'dev' ? await devToken(s.name) : s.token;
  const claims = claimsOf(first);
  me = claims.sub;
  if (claims.name && me) names.set(me, claims.name);
  let initial = first;
  // Dev sessions fetch a fresh token for every reconnect (the SDK calls the getter each time).
  const token =
    s.mode === 'dev'
      ? async () => {
          if (initial) {
            const t = initial;
            initial = undefined;
            return t;
          }
          return devToken(s.name);
        }
      : s.token;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  client = new ParleyClient({ url: `${proto}//${location.host}/ws`, token, idleAwayMs: IDLE_AWAY_MS });
  window.parley = { client, rooms }; // for the console and the browser tests
  client.on('state', onState);
  client.on('message', onMessage);
  client.on('gap', onGap);
  client.on('typing', onTyping);
  for (const t of ['presence.join', 'presence.leave', 'presence.update'])
    client.on(t, (p) => onPresence(t, p));
  client.on('presence.user', (u) => {
    contacts.set(u.userId, u.status);
    renderConvos();
  });
  client.on('notifications', (n) => {
    for (const x of n.unread) notifs.set(x.id, x);
    renderBell();
  });
  client.on('notification', (n) => {
    notifs.set(n.id, n);
    renderBell();
    $('bell').classList.remove('ring');
    void $('bell').offsetWidth;
    $('bell').classList.add('ring');
  });
  client.on('error', (e) => {
    // Unsolicited rate_limited errors answer frames without an id (typing, status): ephemeral and
    // harmless when dropped (quick type-clear-type-send bursts hit the typing limit), so not shown.
    if (e.code === 'rate_limited') return;
    banner(e.message, 'warn', 5000);
  });
  localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  $('signin').hidden = true;
  $('app').hidden = false;
  $('me').hidden = false;
  await client.ready(15_000);
  me = client.userId;
  const saved = JSON.parse(localStorage.getItem(roomsKey()) ?? '["general"]');
  for (const room of saved) void joinRoom(room);
  openRoom(localStorage.getItem(activeKey()) ?? saved[0] ?? DEFAULT_ROOMS[0]);
}

function signedOut(error = '') {
  if (client) void client.close();
  client = undefined;
  rooms.clear();
  notifs.clear();
  contacts.clear();
  convos = [];
  active = undefined;
  clearTimeout(convoTimer);
  $('app').hidden = true;
  $('me').hidden = true;
  $('profile').hidden = true;
  $('notifications').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = error;
  if (!error) connStatus('signed-out', 'signed out');
}

async function signIn(s) {
  $('signin-error').textContent = '';
  try {
    await connect(s);
  } catch (e) {
    localStorage.removeItem(SESSION_KEY);
    signedOut(e.message);
  }
}

// ---- wiring ---------------------------------------------------------------------------------

$('dev-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('dev-name').value.trim();
  if (name) void signIn({ mode: 'dev', name });
});
$('jwt-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('jwt-input').value.trim();
  if (token) void signIn({ mode: 'jwt', token });
});
$('signout').addEventListener('click', () => {
  localStorage.removeItem(SESSION_KEY);
  signedOut();
});
$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('join-room').value.trim();
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(name))
    return banner('Room names: letters, digits, _ and -', 'warn', 4000);
  $('join-room').value = '';
  openRoom(name);
});
$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('send-text').value;
  if (!active || text.trim() === '') return;
  $('send-text').value = '';
  clearTimeout(typingIdle);
  send(text);
});
$('send-text').addEventListener('input', onComposerInput);
$('messages').addEventListener('scroll', () => {
  const r = active && rooms.get(active);
  if (r?.joined && $('messages').scrollTop < 40) void loadOlder(r);
});
$('me-status').addEventListener('change', () => {
  client?.setStatus($('me-status').value);
  renderMe();
});
$('me-name').addEventListener('click', () => {
  $('profile').hidden = !$('profile').hidden;
  $('profile-name').value = displayName(me);
  $('profile-error').textContent = '';
  if (!$('profile').hidden) $('profile-name').focus();
});
$('profile-cancel').addEventListener('click', () => ($('profile').hidden = true));
$('profile-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void saveProfile($('profile-name').value.trim());
});
$('bell').addEventListener('click', () => {
  $('notifications').hidden = !$('notifications').hidden;
  $('bell').setAttribute('aria-expanded', String(!$('notifications').hidden));
});
$('notif-read').addEventListener('click', () => void markAllRead());
$('banner-close').addEventListener('click', () => ($('banner').hidden = true));
document.addEventListener('visibilitychange', () => {
  const r = active && rooms.get(active);
  if (r && !document.hidden) markRead(r);
});

// Input counts as activity for the SDK's idle detection (away after idleAwayMs without any).
let lastActive = 0;
for (const ev of ['keydown', 'pointerdown', 'pointermove', 'wheel']) {
  document.addEventListener(
    ev,
    () => {
      if (!client || Date.now() - lastActive < 5000) return;
      lastActive = Date.now();
      client.markActive();
    },
    { passive: true },
  );
}
setInterval(renderMe, 1000);

const saved = localStorage.getItem(SESSION_KEY);
if (saved) void signIn(JSON.parse(saved));
else signedOut();
