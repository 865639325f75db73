/**
 * The stored form of a chat message. The gateway serialises a message's payload once, at publish;
 * the stream keeps those bytes; seq and prev come from the stream. A `message` frame is then built
 * by splicing seq/prev in front of the stored JSON, so fan-out never parses or re-serialises it.
 */
import type { Body, ChatMessage } from './frames.ts';

/** What the gateway writes to stream CHAT (JSON), everything of a message but its position. */
export interface ChatPayload {
  msgId: string;
  from: string;
  name?: string;
  body: Body;
  ts: number;
  clientMsgId: string;
}

/** A message as the stream (or history) returns it. `data` is the ChatPayload JSON text. */
export interface StoredChat {
  room: string;
  seq: number;
  prev: number;
  data: string;
}

export function encodeChatPayload(p: ChatPayload): string {
  return JSON.stringify(p);
}

/** The `message` frame text for a stored message: no parse, one concatenation. */
export function chatFrame(m: StoredChat, roomJson = JSON.stringify(m.room)): string {
  return `{"type":"message","room":${roomJson},"seq":${m.seq},"prev":${m.prev},${m.data.slice(1)}`;
}

/** The ChatMessage object of a stored message (history replies, mentions, Mongo documents). */
export function toChatMessage(m: StoredChat): ChatMessage {
  const p = JSON.parse(m.data) as ChatPayload;
  return { room: m.room, seq: m.seq, prev: m.prev, ...p };
}
