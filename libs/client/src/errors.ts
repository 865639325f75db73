/**
 * One error class per failure mode, so apps branch on `instanceof` (or `retryable`), never on
 * message text. Server refusals keep the protocol's ErrorCode and its retry flag from codes.ts.
 */
import { type ErrorCode, ErrorCodes } from '@parley/protocol';

export class ParleyError extends Error {
  override name = 'ParleyError';
  /** True when trying the same operation again later can succeed. */
  readonly retryable: boolean = false;
}

/** The server answered a request with an `error` frame. */
export class ServerError extends ParleyError {
  override name = 'ServerError';
  override readonly retryable: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.retryable = ErrorCodes[code]?.retry ?? false;
  }
}

/** No reply (or, for publish, no ack) within the deadline. A timed-out publish may still land. */
export class TimeoutError extends ParleyError {
  override name = 'TimeoutError';
}

/** The socket dropped while a request was in flight; its effect on the server is unknown. */
export class DisconnectedError extends ParleyError {
  override name = 'DisconnectedError';
  override readonly retryable = true;
}

/** The client was closed by the app, or stopped because it cannot authenticate. */
export class ClosedError extends ParleyError {
  override name = 'ClosedError';
}

/** The outbox holds `outboxLimit` unacked messages; the publish was refused, not queued. */
export class OutboxFullError extends ParleyError {
  override name = 'OutboxFullError';
  override readonly retryable = true;
}

/** The token getter failed or there is no way to get a new token after 4001/4003. */
export class AuthError extends ParleyError {
  override name = 'AuthError';
}
