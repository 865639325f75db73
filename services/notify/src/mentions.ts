/**
 * Mentions: `@userId` in a chat message's string body (Kafka `chat.messages`, group
 * 'notify-mentions') becomes a notification for that user, once per message and user even when
 * Kafka redelivers (the row id is derived from room, seq and user; live delivery is claimed once).
 *
 * Who may be notified: in a user-limited room only its listed members; in an ordinary room anyone,
 * because notify has no permission data (token patterns are not stored) — the notification carries
 * the room and seq, and reading the room is still checked by the gateway. The sender is never
 * notified of their own mention. A mention is `@` not preceded by a word character (so e-mail
 * addresses are not mentions), followed by the id; trailing punctuation is not part of the id.
 * In a user-limited room the body is matched against the member ids themselves, so members whose
 * ids hold `@` or punctuation (e-mail subs) can be mentioned too.
 */
import type { Logger } from '@parley/log';
import { excludedFrom, KafkaTopics, parseRoomId } from '@parley/protocol';
import type { StoredNotification } from '@parley/store';
import type { EventStream, InRecord, StreamConsumer } from '@parley/stream';
import type { Notifier } from './notifier.ts';
import { BODY_MAX } from './request.ts';

export interface MentionOptions {
  stream: EventStream;
  notifier: Notifier;
  log: Logger;
  defaultTtlMs: number;
}

export const MENTIONS_GROUP = 'notify-mentions';
/** More distinct mentions than this in one message are ignored (a paste of a member list is spam). */
export const MAX_MENTIONS = 20;

/** The history bridge's record value on chat.messages (one message, seq from stream CHAT). */
interface ChatRecordValue {
  room: string;
  seq: number;
  msgId: string;
  from: string;
  name?: string;
  body: unknown;
  ts: number;
}

const MENTION = /(?<![\p{L}\p{N}_])@([^\s@]+)/gu;
const TRAILING = /[.,;:!?)\]}'"]+$/u;

/** The distinct user ids mentioned in `text`, in order of first mention, at most MAX_MENTIONS. */
export function mentionedUsers(text: string): string[] {
  const users = new Set<string>();
  for (const m of text.matchAll(MENTION)) {
    const id = (m[1] ?? '').replace(TRAILING, '');
    if (id.length > 0) users.add(id);
    if (users.size >= MAX_MENTIONS) break;
  }
  return [...users];
}

const WORD = /[\p{L}\p{N}_]/u;
const ENDS_ID = /[\s.,;:!?)\]}'"]/u;

/**
 * The members of a user-limited room mentioned in `text`, in member order, at most MAX_MENTIONS:
 * `@<id>` with the id verbatim, not preceded by a word character and followed by the end, a space
 * or punctuation. Matched against the member list rather than parsed, so ids the generic pattern
 * cannot delimit work too (an e-mail id: `@ann.lee@x.io` mentions `ann.lee@x.io`).
 */
function mentionedMembers(text: string, members: readonly string[]): string[] {
  const found = members.filter((member) => {
    const needle = `@${member}`;
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      const after = text.charAt(i + needle.length);
      if (!WORD.test(text.charAt(i - 1)) && (after === '' || ENDS_ID.test(after))) return true;
    }
    return false;
  });
  return found.slice(0, MAX_MENTIONS);
}

export function consumeMentions(o: MentionOptions): Promise<StreamConsumer> {
  return o.stream.consume({ group: MENTIONS_GROUP, topics: [KafkaTopics.chatMessages] }, async (batch) => {
    const rows = batch.flatMap((r) => mentionRows(o, r));
    if (rows.length > 0) await o.notifier.storeOnce(rows);
  });
}

/** The notifications one chat record creates (none for a malformed record: it is logged and skipped). */
export function mentionRows(
  o: Pick<MentionOptions, 'log' | 'defaultTtlMs'>,
  r: InRecord,
): StoredNotification[] {
  const m = decodeChat(r.value);
  if (!m) {
    o.log.warn({ partition: r.partition, offset: r.offset }, 'skipped a malformed chat.messages record');
    return [];
  }
  if (typeof m.body !== 'string') return [];
  const parsed = parseRoomId(m.room);
  if (!parsed.ok) return [];
  const room = parsed.room;
  const createdAt = Date.now();
  const mentioned = room.members ? mentionedMembers(m.body, room.members) : mentionedUsers(m.body);
  return mentioned
    .filter((user) => user !== m.from && !excludedFrom(room, user))
    .map((user) => ({
      id: `mention:${m.room}:${m.seq}:${user}`,
      user,
      title: `${m.name ?? m.from} mentioned you in ${m.room}`,
      body: (m.body as string).slice(0, BODY_MAX),
      data: { kind: 'mention', room: m.room, seq: m.seq, msgId: m.msgId, from: m.from },
      createdAt,
      read: false,
      expireAt: createdAt + o.defaultTtlMs,
    }));
}

function decodeChat(value: string): ChatRecordValue | undefined {
  try {
    const v = JSON.parse(value) as Partial<ChatRecordValue>;
    const ok =
      typeof v.room === 'string' &&
      typeof v.from === 'string' &&
      typeof v.msgId === 'string' &&
      Number.isInteger(v.seq) &&
      (v.name === undefined || typeof v.name === 'string');
    return ok ? (v as ChatRecordValue) : undefined;
  } catch {
    return undefined;
  }
}
