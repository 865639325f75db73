/**
 * Why a stream operation failed. Every failure of `send` is one of these, so a caller can tell
 * "not stored, retry later" (`unavailable`, `timeout`) from a programming error (`unknown_topic`).
 * A rejected `send` may still have been stored: retrying it can duplicate, never lose.
 */
export class StreamError extends Error {
  constructor(
    readonly kind: 'unknown_topic' | 'unavailable' | 'timeout' | 'stopped',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StreamError';
  }
}

export const isStreamError = (e: unknown, kind?: StreamError['kind']): e is StreamError =>
  e instanceof StreamError && (kind === undefined || e.kind === kind);
