/**
 * Wire protocol v1: one JSON object per WebSocket text frame, discriminated by `type`.
 * These types are shared by the gateway and the client SDK; decode.ts is the only place a client
 * frame is validated.
 */
import type { ErrorCode } from './codes.ts';

export const PROTOCOL_VERSION = 1;

export type RequestId = string | number;
export type Status = 'online' | 'away' | 'dnd';
export const STATUSES: readonly Status[] = ['online', 'away', 'dnd'];
/** A message body: a string, or a JSON object (structured messages, attachments metadata). */
export type Body = string | Record<string, unknown>;

export interface Limits {
  frameBytes: number;
  bodyChars: number;
  bodyObjectBytes: number;
  roomsPerConnection: number;
  publishPerSecond: number;
  publishBurst: number;
  typingPerSecond: number;
  connectionsPerUser: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  frameBytes: 64 * 1024,
  bodyChars: 4000,
  bodyObjectBytes: 16 * 1024,
  roomsPerConnection: 100,
  publishPerSecond: 10,
  publishBurst: 20,
  typingPerSecond: 2,
  connectionsPerUser: 20,
});

// ---- client -> server ----

interface Req {
  id?: RequestId;
}
export interface JoinFrame extends Req {
  type: 'join';
  room: string;
  since?: number;
  epoch?: string;
}
export interface LeaveFrame extends Req {
  type: 'leave';
  room: string;
}
export interface PublishFrame extends Req {
  type: 'publish';
  room: string;
  body: Body;
  clientMsgId: string;
}
export interface TypingFrame extends Req {
  type: 'typing';
  room: string;
  on: boolean;
}
export interface HistoryFrame extends Req {
  type: 'history';
  room: string;
  before?: number;
  limit?: number;
}
export interface PresenceFrame extends Req {
  type: 'presence';
  room: string;
}
export interface StatusFrame extends Req {
  type: 'status';
  status: Status;
}
export interface PingFrame extends Req {
  type: 'ping';
}
export interface RefreshFrame extends Req {
  type: 'refresh';
  token: string;
}
export interface NotificationsReadFrame extends Req {
  type: 'notifications.read';
  ids: string[];
}
export interface ReadFrame extends Req {
  type: 'read';
  room: string;
  seq: number;
}
export interface UnreadFrame extends Req {
  type: 'unread';
  rooms: string[];
}
export interface ProfileFrame extends Req {
  type: 'profile';
  name: string;
}
export interface ConversationsFrame extends Req {
  type: 'conversations';
  before?: number;
  limit?: number;
}
export interface WatchFrame extends Req {
  type: 'watch';
  users: string[];
}

export type ClientFrame =
  | JoinFrame
  | LeaveFrame
  | PublishFrame
  | TypingFrame
  | HistoryFrame
  | PresenceFrame
  | StatusFrame
  | PingFrame
  | RefreshFrame
  | NotificationsReadFrame
  | ReadFrame
  | UnreadFrame
  | ProfileFrame
  | ConversationsFrame
  | WatchFrame;

export type ClientFrameType = ClientFrame['type'];

// ---- server -> client ----

export interface ChatMessage {
  room: string;
  seq: number;
  /** The previous seq in the same room (0 if none): a message whose prev is not the last seq seen is a gap. */
  prev: number;
  msgId: string;
  from: string;
  name?: string;
  body: Body;
  ts: number;
  clientMsgId: string;
}

export interface Notification {
  id: string;
  title: string;
  body: string;
  data?: unknown;
  createdAt: number;
  read: boolean;
}

export interface ConversationItem {
  room: string;
  lastSeq: number;
  lastMessage: ChatMessage | null;
  unread: number;
}

export type ServerFrame =
  | {
      type: 'welcome';
      connId: string;
      userId: string;
      heartbeatMs: number;
      serverTime: number;
      limits: Limits;
      protocol: number;
    }
  | ({ type: 'message' } & ChatMessage)
  | { type: 'joined'; room: string; id?: RequestId; seq: number; epoch: string; recovered?: boolean }
  | { type: 'left'; room: string; id?: RequestId }
  | { type: 'ack'; id?: RequestId; room: string; seq: number; msgId: string; duplicate: boolean }
  | { type: 'typing'; room: string; userId: string; on: boolean }
  | { type: 'history'; room: string; id?: RequestId; messages: ChatMessage[]; more: boolean }
  | {
      type: 'presence';
      room: string;
      id?: RequestId;
      users: { userId: string; status: Status; name?: string }[];
      count: number;
    }
  | { type: 'presence.join' | 'presence.leave'; room: string; userId: string }
  | { type: 'presence.update'; room?: string; userId: string; status?: Status; name?: string }
  | { type: 'presence.user'; userId: string; status: Status | 'offline' }
  | { type: 'pong'; id?: RequestId; serverTime: number }
  | { type: 'ok'; id?: RequestId }
  | { type: 'read'; room: string; userId: string; seq: number }
  | { type: 'unread'; id?: RequestId; counts: Record<string, number> }
  | { type: 'conversations'; id?: RequestId; items: ConversationItem[]; more: boolean }
  | { type: 'notification'; notification: Notification }
  | { type: 'notifications'; unread: Notification[]; more?: number }
  | { type: 'reconnect'; afterMs: number }
  | { type: 'error'; id?: RequestId; code: ErrorCode; message: string };

export type ServerFrameType = ServerFrame['type'];
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;
