/**
 * The conversation list (DMs and other user-limited rooms the user wrote in, from the history
 * service), polled and refreshed soon after local activity; DM partners' presence is watched.
 */
import { $, el } from '../dom.js';
import { bodyText, contacts, displayName, dmPartners, roomLabel, rooms, state } from './state.js';
import { statusDot } from './ui.js';

const CONVO_POLL_MS = 4000;

let convos = [];
let convoTimer;

/** Refreshes soon: debounces the bursts of messages and read markers that change the list. */
export function scheduleConvos() {
  clearTimeout(convoTimer);
  convoTimer = setTimeout(refreshConvos, 300);
}

export async function refreshConvos() {
  const { client } = state;
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

/** Signed out: no more polls, nothing listed. */
export function stopConvos() {
  convos = [];
  clearTimeout(convoTimer);
}

/** The list; a click on an entry is handled by main.js (it opens the room). */
export function renderConvos() {
  const { active, me } = state;
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
              { type: 'button', class: 'item' },
              partner.length === 1 ? statusDot(contacts.get(partner[0])) : undefined,
              el('span', { class: 'label', text: roomLabel(c.room) }),
              unread > 0 ? el('span', { class: 'badge', text: String(unread) }) : undefined,
              el('span', { class: 'preview dim', text: preview.slice(0, 80) }),
            ),
          );
        })),
  );
}
