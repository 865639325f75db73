/**
 * Reconnect policy: backoff delays, the one classification of close codes, and token expiry.
 * Pure functions; connection.ts applies them.
 */
import { CloseCodes, closeName } from '@parley/protocol';
import type { Backoff } from './options.ts';

/**
 * Full jitter: uniform in [0, min(maxMs, initialMs * factor^attempt)), so a crowd of clients
 * dropped together spreads its reconnects instead of returning in waves. `attempt` starts at 0.
 */
export function backoffDelay(attempt: number, b: Backoff, random: () => number): number {
  const ceiling = Math.min(b.maxMs, b.initialMs * b.factor ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * What a close code asks of the client:
 * - `reauth`: the token was refused or expired (4001, 4003): get a new token from the getter, and stop
 *   if there is none or it fails;
 * - `hard`: policy violation (4008): wait the backoff cap before trying again;
 * - `reconnect`: everything else (4010 slow consumer, 1001 drain, 1006 network, ...): reconnect with
 *   backoff and recover the rooms.
 * Derived from the protocol's CloseCodes table: a code flagged `reconnect: false` needs a new token.
 */
export type CloseAction = 'reauth' | 'hard' | 'reconnect';

export function closeAction(code: number): CloseAction {
  const name = closeName(code);
  if (name === undefined) return 'reconnect';
  if (!CloseCodes[name].reconnect) return 'reauth';
  return name === 'policy' ? 'hard' : 'reconnect';
}

/** The JWT's `exp` in ms since the epoch, read without verifying (the server verifies); undefined if absent. */
export function tokenExpiry(jwt: string): number | undefined {
  const exp = jwtPayload(jwt)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

/** The JWT's `sub`, read without verifying. */
export function tokenSubject(jwt: string): string | undefined {
  const sub = jwtPayload(jwt)?.sub;
  return typeof sub === 'string' ? sub : undefined;
}

function jwtPayload(jwt: string): Record<string, unknown> | undefined {
  const part = jwt.split('.')[1];
  if (!part) return undefined;
  try {
    // atob is global in browsers and Node; base64url needs its alphabet and padding restored.
    const b64 = part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
