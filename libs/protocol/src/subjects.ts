/**
 * NATS subject names. Room and user ids become single subject tokens: ids made only of
 * [A-Za-z0-9_-] are used as they are (readable in `nats sub`); any other id is encoded as
 * `~` + hex of its UTF-8 bytes, which is reversible and can never contain `.`, `*`, `>` or
 * whitespace. The `~` prefix cannot clash because plain tokens never contain `~`.
 */

const PLAIN = /^[A-Za-z0-9_-]+$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function subjectToken(id: string): string {
  if (PLAIN.test(id)) return id;
  let hex = '~';
  for (const b of encoder.encode(id)) hex += b.toString(16).padStart(2, '0');
  return hex;
}

export function fromSubjectToken(token: string): string {
  if (!token.startsWith('~')) return token;
  const bytes = new Uint8Array((token.length - 1) / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(token.slice(1 + i * 2, 3 + i * 2), 16);
  return decoder.decode(bytes);
}

export const Subjects = {
  /** Stream CHAT captures these; gateways publish here with Nats-Msg-Id. */
  chatIn: (room: string) => `chat.in.${subjectToken(room)}`,
  chatInAll: 'chat.in.>',
  /** RePublished copies with Nats-Sequence / Nats-Last-Sequence headers. */
  chatRoom: (room: string) => `chat.room.${subjectToken(room)}`,
  chatRoomAll: 'chat.room.>',
  /** Ephemeral room events (typing, presence, read): core NATS, no storage. */
  chatEph: (room: string) => `chat.eph.${subjectToken(room)}`,
  /** Per-user deliveries: notifications, kicks, read-marker sync, profile changes. */
  user: (userId: string) => `user.${subjectToken(userId)}`,
  /** Cluster-wide admin commands (disconnect a user everywhere). */
  adminDisconnect: 'admin.disconnect',
  historyQuery: 'history.query',
  presenceQuery: 'presence.query',
  presenceDelta: 'presence.delta',
  presenceHeartbeat: 'presence.heartbeat',
  presenceSnapshot: 'presence.snapshot',
  /** One gateway's snapshot (request/reply): a broadcast request would only get the first reply. */
  presenceSnapshotOf: (gatewayId: string) => `presence.snapshot.${subjectToken(gatewayId)}`,
  /** Where a presence instance collects the parts of a snapshot it asked for. */
  presenceSnapshotReply: (instanceId: string, n: number) =>
    `presence.snapshotreply.${subjectToken(instanceId)}.${n}`,
  /** Presence instances announce themselves here to agree on which one emits events. */
  presenceInstances: 'presence.instances',
  /** Online-status changes of a user, for `watch` (contacts). */
  presenceUser: (userId: string) => `presence.user.${subjectToken(userId)}`,
  notifyQuery: 'notify.query',
  opsStats: 'ops.stats',
} as const;

export const STREAM_CHAT = 'CHAT';
export const KafkaTopics = {
  chatMessages: 'chat.messages',
  chatMessagesDead: 'chat.messages.dead',
  notificationRequests: 'notifications.requests',
  notificationRequestsDead: 'notifications.requests.dead',
} as const;
