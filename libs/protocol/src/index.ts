export { type ChatPayload, chatFrame, encodeChatPayload, type StoredChat, toChatMessage } from './chat.ts';
export {
  type CloseCode,
  CloseCodes,
  type CloseName,
  closeName,
  type ErrorCode,
  ErrorCodes,
} from './codes.ts';
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
export { connTerm, fnv1a, formatDigest, memberTerm, PresenceDigest, statusCode } from './digest.ts';
export { renderErrorsDoc } from './errors-doc.ts';
export * from './frames.ts';
export * from './internal.ts';
export {
  canonicalRoomId,
  DEFAULT_MAX_ROOM_MEMBERS,
  excludedFrom,
  parseRoomId,
  type RoomId,
  type RoomParse,
} from './rooms.ts';
export { fromSubjectToken, KafkaTopics, STREAM_CHAT, Subjects, subjectToken } from './subjects.ts';
