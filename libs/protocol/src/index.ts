export { CloseCodes, type CloseCode, type CloseName, closeName, ErrorCodes, type ErrorCode } from './codes.ts';
export * from './frames.ts';
export {
  CLIENT_FRAME_TYPES,
  type Decoded,
  type DecodeOptions,
  decodeClientFrame,
  MAX_LIST,
  MAX_PAGE,
  NAME_MAX,
  utf8Length,
  validateName,
} from './decode.ts';
export { canonicalRoomId, DEFAULT_MAX_ROOM_MEMBERS, excludedFrom, parseRoomId, type RoomId, type RoomParse } from './rooms.ts';
export { fromSubjectToken, KafkaTopics, STREAM_CHAT, Subjects, subjectToken } from './subjects.ts';
export { type ChatPayload, chatFrame, encodeChatPayload, type StoredChat, toChatMessage } from './chat.ts';
export * from './internal.ts';
