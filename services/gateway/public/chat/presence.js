/** Who is online in the room shown: the presence snapshot on join, then join/leave/update events. */
import { $, el } from '../dom.js';
import { displayName, rooms, state } from './state.js';
import { statusDot } from './ui.js';

/** Applies a presence event to the rosters (display-name changes are handled by the caller). */
export function onPresence(type, p) {
  const targets = p.room ? [rooms.get(p.room)].filter(Boolean) : [...rooms.values()];
  for (const r of targets) {
    if (type === 'presence.join') r.online.set(p.userId, r.online.get(p.userId) ?? 'online');
    else if (type === 'presence.leave') r.online.delete(p.userId);
    else if (p.status && (p.room || r.online.has(p.userId))) r.online.set(p.userId, p.status);
  }
  renderOnline();
}

export async function refreshPresence(r) {
  try {
    const { users } = await state.client.presence(r.name);
    r.online = new Map(users.map((u) => [u.userId, u.status]));
  } catch {
    // not joined yet or the presence service is away; the join/leave events still arrive
  }
  if (r.name === state.active) renderOnline();
}

/** The online list; each other user's DM button is handled by main.js (it opens a room). */
export function renderOnline() {
  const { me } = state;
  const r = state.active && rooms.get(state.active);
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
              { type: 'button', class: 'dm link', title: `Direct message ${displayName(userId)}` },
              'DM',
            ),
      ),
    ),
  );
}
