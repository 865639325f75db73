/** One handler per client frame type; the type system checks that every frame of protocol v1 has one. */
import type { ClientFrame, ClientFrameType } from '@parley/protocol';
import type { Conn } from '../connection.ts';
import type { Ctx } from '../context.ts';
import { join, leave } from './join.ts';
import { publish } from './publish.ts';
import { conversations, history, notificationsRead, presence, read, unread, watch } from './queries.ts';
import { ping, profile, refresh, status } from './session.ts';
import { typingFrame } from './typing.ts';

type Handlers = {
  [T in ClientFrameType]: (ctx: Ctx, conn: Conn, f: Extract<ClientFrame, { type: T }>) => unknown;
};

export const commands: Handlers = {
  join,
  leave,
  publish,
  typing: typingFrame,
  history,
  presence,
  status,
  ping,
  refresh,
  'notifications.read': notificationsRead,
  read,
  unread,
  profile,
  conversations,
  watch,
};

export { leaveRoom } from './join.ts';
export { applyName } from './session.ts';
export { clearTyping } from './typing.ts';
