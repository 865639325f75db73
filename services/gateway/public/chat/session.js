/**
 * Signing in and out, the connection's life (status line, reconnect banner, what recovery
 * replayed) and the display name. Dev sign-in fetches a token from the gateway; a pasted JWT is
 * used as it is.
 */
import { ParleyClient } from '/static/parley-client.js';
import { $ } from '../dom.js';
import { refreshConvos, renderConvos, stopConvos } from './convos.js';
import { onGap } from './messages.js';
import { onNotification, onUnread } from './notifications.js';
import { renderAll } from './page.js';
import { onPresence, refreshPresence } from './presence.js';
import { joinRoom, onMessage, openRoom } from './rooms.js';
import {
  activeKey,
  contacts,
  DEFAULT_ROOMS,
  names,
  notifs,
  rooms,
  roomsKey,
  SESSION_KEY,
  state,
} from './state.js';
import { onTyping } from './typing.js';
import { banner, connStatus } from './ui.js';

const params = new URLSearchParams(location.search);
const IDLE_AWAY_MS = Number(params.get('idleAwayMs')) || 5 * 60_000;

let wasDown = false;
let recovering = false;
let replayed = 0;

function claimsOf(jwt) {
  try {
    const b64 = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64));
  } catch {
    return {};
  }
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
    state.me = state.client.userId;
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
  const results = await Promise.allSettled(joined.map((r) => state.client.join(r.name)));
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

// The chosen display name is kept per user in this browser and sent again on every connect.
function reapplyProfile() {
  const chosen = localStorage.getItem(`parley.chat.name.${state.me}`);
  if (chosen) state.client.profile(chosen).catch(() => {});
}

export async function saveProfile(name) {
  try {
    await state.client.profile(name);
    names.set(state.me, name);
    localStorage.setItem(`parley.chat.name.${state.me}`, name);
    $('profile').hidden = true;
    renderAll();
  } catch (e) {
    $('profile-error').textContent = e.message;
  }
}

async function devToken(name) {
  const res = await fetch(`/v1/dev/token?sub=${encodeURIComponent(name)}`, { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (res.status === 404) throw new Error('dev tokens are disabled on this server: paste a JWT instead');
  if (!res.ok || !body.token) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body.token;
}

function listen(client) {
  client.on('state', onState);
  client.on('message', () => {
    if (recovering) replayed++;
  });
  client.on('message', onMessage);
  client.on('gap', onGap);
  client.on('typing', onTyping);
  client.on('presence.update', (p) => {
    if (!p.name) return;
    // Messages already shown keep the name they were sent with; lists and labels follow the change.
    names.set(p.userId, p.name);
    renderAll();
  });
  for (const t of ['presence.join', 'presence.leave', 'presence.update'])
    client.on(t, (p) => onPresence(t, p));
  client.on('presence.user', (u) => {
    contacts.set(u.userId, u.status);
    renderConvos();
  });
  client.on('notifications', onUnread);
  client.on('notification', onNotification);
  client.on('error', (e) => {
    // Unsolicited rate_limited errors answer frames without an id (typing, status): ephemeral and
    // harmless when dropped (quick type-clear-type-send bursts hit the typing limit), so not shown.
    if (e.code === 'rate_limited') return;
    banner(e.message, 'warn', 5000);
  });
}

async function connect(s) {
  const first = s.mode === 'dev' ? await devToken(s.name) : s.token;
  const claims = claimsOf(first);
  state.me = claims.sub;
  if (claims.name && state.me) names.set(state.me, claims.name);
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
  const client = new ParleyClient({ url: `${proto}//${location.host}/ws`, token, idleAwayMs: IDLE_AWAY_MS });
  state.client = client;
  window.parley = { client, rooms }; // for the console and the browser tests
  listen(client);
  localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  $('signin').hidden = true;
  $('app').hidden = false;
  $('me').hidden = false;
  await client.ready(15_000);
  state.me = client.userId;
  const saved = JSON.parse(localStorage.getItem(roomsKey()) ?? '["general"]');
  for (const room of saved) void joinRoom(room);
  openRoom(localStorage.getItem(activeKey()) ?? saved[0] ?? DEFAULT_ROOMS[0]);
}

export function signedOut(error = '') {
  if (state.client) void state.client.close();
  state.client = undefined;
  rooms.clear();
  notifs.clear();
  contacts.clear();
  stopConvos();
  state.active = undefined;
  $('app').hidden = true;
  $('me').hidden = true;
  $('profile').hidden = true;
  $('notifications').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = error;
  if (!error) connStatus('signed-out', 'signed out');
}

export async function signIn(s) {
  $('signin-error').textContent = '';
  try {
    await connect(s);
  } catch (e) {
    localStorage.removeItem(SESSION_KEY);
    signedOut(e.message);
  }
}
