/**
 * Service-to-service messages over NATS request/reply and pub/sub. Services never import each
 * other: the gateway, history, presence and notify meet here. Every reply is a ServiceReply so a
 * caller can tell a refusal (bad_request, forbidden) from an outage.
 */
import type { ErrorCode } from './codes.ts';
import type { ChatMessage, ConversationItem, Notification, Status } from './frames.ts';

export type ServiceReply<T> = { ok: true; result: T } | { ok: false; code: ErrorCode; message: string };

// ---- history.query ----
export type HistoryRequest =
  /** A page of messages before `before` (exclusive), ascending. */
  | { op: 'page'; room: string; before?: number; limit: number }
  /** Messages with seq > after, ascending, at most limit (deep tier of recovery). */
  | { op: 'after'; room: string; after: number; limit: number }
  | { op: 'last'; room: string }
  /** Moves the user's read marker forward (never back); replies with the stored seq. */
  | { op: 'read'; user: string; room: string; seq: number }
  | { op: 'unread'; user: string; rooms: string[] }
  | { op: 'conversations'; user: string; before?: number; limit: number };

export interface HistoryPage {
  messages: ChatMessage[];
  more: boolean;
}
export interface HistoryResults {
  page: HistoryPage;
  after: HistoryPage;
  last: { seq: number };
  read: { seq: number };
  unread: { counts: Record<string, number> };
  conversations: { items: ConversationItem[]; more: boolean };
}

/** Unread counts stop counting here (a badge shows 1000+). */
export const UNREAD_CAP = 1000;

// ---- presence ----
export type PresenceDelta =
  | { k: 'connect'; conn: string; user: string; status: Status; name?: string }
  | { k: 'disconnect'; conn: string }
  | { k: 'join'; conn: string; room: string }
  | { k: 'leave'; conn: string; room: string }
  | { k: 'status'; conn: string; status: Status }
  | { k: 'name'; conn: string; name: string };

/**
 * presence.delta: a gateway's changes of one tick, in order. `seq` numbers a gateway's batches
 * 1, 2, 3... from its start, so presence notices a lost batch (a gap) and resynchronises.
 */
export interface PresenceDeltaBatch {
  gw: string;
  seq?: number;
  deltas: PresenceDelta[];
}

/**
 * presence.heartbeat: a gateway is alive; digest (see digest.ts) lets presence detect drift and ask
 * for a snapshot. `seq` is the last batch sent before it: the digest describes the state after it.
 */
export interface PresenceHeartbeat {
  gw: string;
  conns: number;
  digest: string;
  intervalMs: number;
  seq?: number;
}

export interface SnapshotConn {
  conn: string;
  user: string;
  status: Status;
  name?: string;
  rooms: string[];
}
/**
 * Reply to presence.snapshot.<gw> (or the broadcast presence.snapshot). `seq` is the last batch sent
 * before it: the snapshot is the state after that batch, and later batches apply on top of it.
 */
export interface PresenceSnapshot {
  gw: string;
  seq?: number;
  conns: SnapshotConn[];
  /**
   * Large snapshots are sent in parts (a NATS message is capped at 1 MB by default): part i of
   * `parts`, all taken from one view of the gateway (one `seq`). Absent on a one-part snapshot.
   */
  part?: number;
  parts?: number;
}

/** A snapshot request: the gateway publishes its snapshot's parts to `replyTo`. */
export interface PresenceSnapshotRequest {
  replyTo: string;
}

/** Connections per snapshot part: ~100 bytes each keeps a part far below NATS's 1 MB limit. */
export const SNAPSHOT_PART_CONNS = 2000;

/** Splits one view of a gateway into the parts it is sent in (at least one, even when empty). */
export function snapshotParts(snap: PresenceSnapshot): PresenceSnapshot[] {
  const parts = Math.max(1, Math.ceil(snap.conns.length / SNAPSHOT_PART_CONNS));
  return Array.from({ length: parts }, (_, part) => ({
    ...snap,
    conns: snap.conns.slice(part * SNAPSHOT_PART_CONNS, (part + 1) * SNAPSHOT_PART_CONNS),
    part,
    parts,
  }));
}

/** The `replyTo` of a snapshot request, or undefined for a plain request (answer with one reply). */
export function snapshotReplyTo(requestText: string): string | undefined {
  try {
    const r = JSON.parse(requestText || '{}') as Partial<PresenceSnapshotRequest>;
    return typeof r.replyTo === 'string' && r.replyTo.length > 0 ? r.replyTo : undefined;
  } catch {
    return undefined;
  }
}

export type PresenceRequest =
  | { op: 'room'; room: string }
  | { op: 'user'; user: string }
  /** Online status of many users at once (the initial answer to a `watch`). */
  | { op: 'users'; users: string[] };
export interface PresenceResults {
  room: { users: { userId: string; status: Status; name?: string }[]; count: number };
  user: { userId: string; status: Status | 'offline'; connections: number; rooms: string[] };
  users: { statuses: Record<string, Status | 'offline'> };
}

// ---- notify ----
export type NotifyRequest =
  | { op: 'unread'; user: string; limit: number }
  /** The unread notifications of every user who connected to a gateway in one event-loop tick. */
  | { op: 'unreadMany'; users: string[]; limit: number }
  | { op: 'read'; user: string; ids: string[] };
export interface NotifyResults {
  unread: { unread: Notification[]; more: number };
  unreadMany: { byUser: Record<string, { unread: Notification[]; more: number }> };
  read: { updated: number };
}

// ---- per-user and admin deliveries ----
/**
 * user.<id> carries one of these. `frame` is a server frame's JSON text, forwarded to every socket of
 * the user as it is (one serialisation for all devices).
 */
export type UserEvent =
  | { kind: 'frame'; frame: string }
  | { kind: 'disconnect'; reason: string }
  | { kind: 'name'; name: string };

// ---- ephemeral room events (chat.eph.<room>) ----
/**
 * An ephemeral room event is `origin` + '\n' + a server frame's JSON text. The originating gateway
 * delivers to its own sockets directly (so the sender's socket can be skipped) and ignores its own
 * echo; services publish with an empty origin.
 */
export function ephEnvelope(origin: string, frame: string): string {
  return `${origin}\n${frame}`;
}

export function openEphEnvelope(text: string): { origin: string; frame: string } {
  const nl = text.indexOf('\n');
  return nl < 0 ? { origin: '', frame: text } : { origin: text.slice(0, nl), frame: text.slice(nl + 1) };
}
