export { type Page, ParleyClient, type PublishOptions } from './client.ts';
export {
  AuthError,
  ClosedError,
  DisconnectedError,
  OutboxFullError,
  ParleyError,
  ServerError,
  TimeoutError,
} from './errors.ts';
export type { ClientEvents, ConnectionState, EventName, GapEvent, Handler, StateChange } from './events.ts';
export type { Backoff, ClientOptions, SocketCtor, SocketLike, Timers, TokenSource } from './options.ts';
export type { PublishAck } from './outbox.ts';
export { backoffDelay, type CloseAction, closeAction } from './reconnect.ts';
export type { Cursor } from './rooms.ts';
