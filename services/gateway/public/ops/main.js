/**
 * Parley ops dashboard: polls GET /v1/ops/stats (admin JWT) every 2 s and draws the cluster.
 * No framework, no external resources, no build step. All data is rendered with textContent /
 * SVG attributes, never parsed as HTML.
 *
 * Modules: ../dom.js ($, el; shared with the chat page), format.js (numbers, ids), stats.js (the
 * merged samples and series), charts.js (SVG charts, tables), sections.js (one render per
 * section), main.js (this file: polling and the admin token).
 */
import { $ } from '../dom.js';
import { short } from './format.js';
import { render } from './sections.js';
import { cluster, merge, POLL_MS, resetCluster } from './stats.js';

const TOKEN_KEY = 'parley.ops.token';

let timer;

function setStatus(text, cls = '') {
  const s = $('status');
  s.textContent = text;
  s.className = `status ${cls}`;
}

async function poll() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return showSignin();
  const { since } = cluster;
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
      `live · ${cluster.instances.size} instances · via ${short(snap.self)} · ${new Date(snap.now).toLocaleTimeString()}`,
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
  resetCluster();
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
