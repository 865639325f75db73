/**
 * The demo chat page, on the SDK bundle the gateway serves (/static/parley-client.js). No
 * framework and no build step: ES modules, a few maps of state (state.js) and render functions
 * that rebuild small parts of the DOM. Every piece of user data (message bodies, names, room ids,
 * notification text) goes into the page through textContent only: never as HTML.
 *
 * Modules, in dependency order (each imports only modules above it here):
 *   ../dom.js         $ and el, shared with the ops page
 *   state.js          page state, room labels, display names
 *   ui.js             banner, connection status, status dot
 *   typing.js         typing indicators, this user's typing frames
 *   presence.js       the online list
 *   notifications.js  the bell
 *   convos.js         the conversation list
 *   messages.js       the message list, sends, history pages, the read marker
 *   page.js           room list, chat head, this user's name and status, renderAll
 *   rooms.js          join, open, leave, incoming messages
 *   session.js        sign-in, the connection, recovery, the display name
 *   main.js           this file: the page's event wiring, then sign-in from the saved session
 * Lists rendered below rooms.js (room list, conversations, online users) cannot import openRoom
 * without an import cycle, so their clicks are handled here, from the data- attributes of the item.
 */
import { $ } from '../dom.js';
import { loadOlder, markRead, send } from './messages.js';
import { markAllRead } from './notifications.js';
import { renderMe } from './page.js';
import { leaveRoom, openRoom } from './rooms.js';
import { saveProfile, signedOut, signIn } from './session.js';
import { displayName, rooms, SESSION_KEY, state } from './state.js';
import { cancelTypingIdle, onComposerInput } from './typing.js';
import { banner } from './ui.js';

/** Calls `fn(item, button)` for a click on a button inside an item `li` of the list `id`. */
function onItemClick(id, fn) {
  $(id).addEventListener('click', (e) => {
    const button = e.target.closest('button');
    const item = button?.closest('li');
    if (item && $(id).contains(item)) fn(item, button);
  });
}

onItemClick('rooms', (li, button) =>
  button.classList.contains('leave') ? leaveRoom(li.dataset.room) : openRoom(li.dataset.room),
);
onItemClick('convos', (li) => openRoom(li.dataset.room));
onItemClick('online', (li, button) => {
  if (button.classList.contains('dm')) openRoom(state.client.dm([li.dataset.user]));
});

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
  if (!state.active || text.trim() === '') return;
  $('send-text').value = '';
  cancelTypingIdle();
  send(text);
});
$('send-text').addEventListener('input', onComposerInput);
$('messages').addEventListener('scroll', () => {
  const r = state.active && rooms.get(state.active);
  if (r?.joined && $('messages').scrollTop < 40) void loadOlder(r);
});
$('me-status').addEventListener('change', () => {
  state.client?.setStatus($('me-status').value);
  renderMe();
});
$('me-name').addEventListener('click', () => {
  $('profile').hidden = !$('profile').hidden;
  $('profile-name').value = displayName(state.me);
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
  const r = state.active && rooms.get(state.active);
  if (r && !document.hidden) markRead(r);
});

// Input counts as activity for the SDK's idle detection (away after idleAwayMs without any).
let lastActive = 0;
for (const ev of ['keydown', 'pointerdown', 'pointermove', 'wheel']) {
  document.addEventListener(
    ev,
    () => {
      if (!state.client || Date.now() - lastActive < 5000) return;
      lastActive = Date.now();
      state.client.markActive();
    },
    { passive: true },
  );
}
setInterval(renderMe, 1000);

const saved = localStorage.getItem(SESSION_KEY);
if (saved) void signIn(JSON.parse(saved));
else signedOut();
