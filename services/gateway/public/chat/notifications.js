/** The bell: unread notifications (sent after welcome, then one by one) and marking them read. */
import { $, el } from '../dom.js';
import { notifs, state } from './state.js';
import { banner } from './ui.js';

/** The unread list the server sends after welcome. */
export function onUnread(n) {
  for (const x of n.unread) notifs.set(x.id, x);
  renderBell();
}

export function onNotification(n) {
  notifs.set(n.id, n);
  renderBell();
  // Restarts the ring animation: removing the class, forcing a layout, adding it back.
  $('bell').classList.remove('ring');
  void $('bell').offsetWidth;
  $('bell').classList.add('ring');
}

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

export async function markAllRead() {
  const ids = [...notifs.values()].filter((n) => !n.read).map((n) => n.id);
  if (ids.length === 0) return;
  try {
    await state.client.markNotificationsRead(ids);
    for (const id of ids) notifs.get(id).read = true;
  } catch (e) {
    banner(`Could not mark notifications read: ${e.message}`, 'warn', 5000);
  }
  renderBell();
}
