/** Typing indicators: who else is typing in the room shown, and this user's own typing frames. */
import { $ } from '../dom.js';
import { displayName, rooms, state, view } from './state.js';

const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 8000;

export function onTyping(t) {
  if (t.userId === state.me) return;
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
  if (t.room === state.active) renderTyping();
}

export function renderTyping() {
  const r = state.active && rooms.get(state.active);
  const who = r ? [...r.typing.keys()].map(displayName) : [];
  $('typing').textContent =
    who.length === 0
      ? ''
      : who.length === 1
        ? `${who[0]} is typing…`
        : `${who.slice(0, -1).join(', ')} and ${who.at(-1)} are typing…`;
}

let typingIdle;
export function onComposerInput() {
  if (!state.active) return;
  const room = state.active;
  const on = $('send-text').value.trim() !== '';
  state.client.typing(room, on);
  clearTimeout(typingIdle);
  if (on) typingIdle = setTimeout(() => state.client.typing(room, false), TYPING_IDLE_MS);
}

/** The composer was sent: sending ends typing, so the idle timer has nothing left to do. */
export function cancelTypingIdle() {
  clearTimeout(typingIdle);
}
