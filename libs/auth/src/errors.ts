/**
 * Why a token was refused. The message is meant for a WebSocket close reason (4001): it says why in
 * under 100 bytes and never echoes the token or any part of it.
 */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'bad_alg'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_claims'
  | 'no_key';

export class AuthError extends Error {
  readonly reason: AuthFailure;
  constructor(reason: AuthFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AuthError';
    this.reason = reason;
  }
}

export const isAuthError = (e: unknown, reason?: AuthFailure): e is AuthError =>
  e instanceof AuthError && (reason === undefined || e.reason === reason);
