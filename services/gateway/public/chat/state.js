/**
 * The chat page's state, shared by its modules, and the pure helpers that read it. Scalars live
 * on `state` because a module cannot assign to a binding it imported; maps are shared as they are.
 */

export const SESSION_KEY = 'parley.chat.session';
export const DEFAULT_ROOMS = ['general', 'random', 'support'];

export const state = {
  /** The ParleyClient while signed in. */
  client: undefined,
  /** The signed-in user's id. */
  me: undefined,
  /** The room shown. */
  active: undefined,
};
export const names = new Map(); // userId -> display name
export const rooms = new Map(); // room -> view state, see view()
export const contacts = new Map(); // userId -> status | 'offline' (watched DM partners)
export const notifs = new Map(); // id -> notification

export const displayName = (userId) => names.get(userId) ?? userId;
export const roomsKey = () => `parley.chat.rooms.${state.me}`;
export const activeKey = () => `parley.chat.active.${state.me}`;
export const bodyText = (body) => (typeof body === 'string' ? body : JSON.stringify(body));

/** The view state of a room, created on first use. */
export function view(name) {
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
export function roomLabel(room) {
  const i = room.indexOf('#');
  if (i < 0) return `# ${room}`;
  const others = room
    .slice(i + 1)
    .split(',')
    .filter((u) => u !== state.me);
  const who = others.map(displayName).join(', ') || 'just you';
  const base = room.slice(0, i);
  return base === 'dm' ? `@ ${who}` : `${base}: ${who}`;
}

export const dmPartners = (room) =>
  room.includes('#')
    ? room
        .slice(room.indexOf('#') + 1)
        .split(',')
        .filter((u) => u !== state.me)
    : [];
