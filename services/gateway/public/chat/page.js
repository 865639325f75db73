/**
 * The page frame: the room list, the chat head, this user's name and status, and renderAll,
 * which redraws every part (after a room change, a sign-in or a display-name change).
 */
import { $, el } from '../dom.js';
import { renderConvos } from './convos.js';
import { renderMessages } from './messages.js';
import { renderOnline } from './presence.js';
import { DEFAULT_ROOMS, displayName, roomLabel, rooms, state } from './state.js';
import { renderTyping } from './typing.js';

/** The public rooms; clicks on a room or its leave button are handled by main.js. */
export function renderRooms() {
  const shown = [...new Set([...DEFAULT_ROOMS, ...[...rooms.keys()].filter((n) => !n.includes('#'))])];
  $('rooms').replaceChildren(
    ...shown.map((name) => {
      const r = rooms.get(name);
      const joinState = r?.joined ? 'joined' : r?.joining ? 'joining' : 'not joined';
      return el(
        'li',
        { class: name === state.active ? 'active' : undefined, 'data-room': name, 'data-state': joinState },
        el(
          'button',
          { type: 'button', class: 'item', title: joinState },
          el('span', { class: r?.joined ? 'label' : 'label dim', text: roomLabel(name) }),
          r?.unread ? el('span', { class: 'badge', text: String(r.unread) }) : undefined,
        ),
        r?.joined && !DEFAULT_ROOMS.includes(name)
          ? el('button', { type: 'button', class: 'link leave', title: 'Leave' }, '×')
          : undefined,
      );
    }),
  );
}

export function renderMe() {
  const { client, me } = state;
  if (!client || !me) return;
  $('me-name').textContent = displayName(me);
  $('me-dot').dataset.status = client.status;
  $('me-dot').title = client.status;
}

export function renderHead() {
  const { active } = state;
  const r = active && rooms.get(active);
  $('room-title').textContent = active ? roomLabel(active) : 'no room';
  $('room-info').textContent = !r ? '' : r.joined ? (active.includes('#') ? 'private' : '') : 'joining…';
  $('send-text').disabled = !active;
  $('send-btn').disabled = !active;
}

export function renderAll(where) {
  renderHead();
  renderRooms();
  renderConvos();
  renderMessages(where);
  renderTyping();
  renderOnline();
  renderMe();
}
