/**
 * Rooms this user is in: join (with the first history page and the presence snapshot), open,
 * leave, remembered per user in localStorage; and every incoming message.
 */
import { $ } from '../dom.js';
import { scheduleConvos } from './convos.js';
import { loadOlder, markRead, renderMessages } from './messages.js';
import { renderAll, renderHead, renderRooms } from './page.js';
import { refreshPresence } from './presence.js';
import { activeKey, DEFAULT_ROOMS, roomLabel, rooms, roomsKey, state, view } from './state.js';
import { renderTyping } from './typing.js';
import { banner } from './ui.js';

function saveRooms() {
  const joined = [...rooms.values()].filter((r) => r.joined || r.joining).map((r) => r.name);
  localStorage.setItem(roomsKey(), JSON.stringify(joined));
  if (state.active) localStorage.setItem(activeKey(), state.active);
}

export function joinRoom(name) {
  const r = view(name);
  if (r.joined || r.joining) return r.joining ?? Promise.resolve();
  r.joining = state.client
    .join(name)
    .then(async () => {
      r.joined = true;
      await Promise.all([loadOlder(r, true), refreshPresence(r)]);
    })
    .catch((e) => {
      banner(`Cannot join ${roomLabel(name)}: ${e.message}`, 'error');
      rooms.delete(name);
      if (state.active === name) state.active = undefined;
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

export function openRoom(name) {
  state.active = name;
  const r = view(name);
  r.unread = 0;
  void joinRoom(name);
  saveRooms();
  renderAll('bottom');
  $('send-text').focus();
  markRead(r);
}

export async function leaveRoom(name) {
  const r = rooms.get(name);
  if (!r) return;
  rooms.delete(name);
  for (const t of r.typing.values()) clearTimeout(t);
  await state.client.leave(name).catch(() => {});
  if (state.active === name) state.active = undefined;
  saveRooms();
  if (!state.active) openRoom(DEFAULT_ROOMS[0]);
  else renderAll();
}

export function onMessage(m) {
  const r = view(m.room);
  r.msgs.set(m.seq, m);
  if (m.from === state.me) r.pending.delete(m.clientMsgId);
  if (r.typing.has(m.from)) {
    clearTimeout(r.typing.get(m.from));
    r.typing.delete(m.from);
  }
  if (m.room === state.active && !document.hidden) markRead(r);
  else if (m.from !== state.me) {
    r.unread++;
    renderRooms();
  }
  if (m.room === state.active) {
    renderMessages();
    renderTyping();
  }
  scheduleConvos();
}
