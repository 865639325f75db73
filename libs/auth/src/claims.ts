/** Turns a verified JWT payload into an Identity, refusing claims of the wrong shape. */
import type { JWTPayload } from 'jose';
import { AuthError } from './errors.ts';

export interface Identity {
  userId: string;
  name?: string;
  /** Glob patterns of rooms the user may join; empty = none. */
  rooms: readonly string[];
  /** Glob patterns of rooms the user may publish to; defaults to `rooms`. */
  pub: readonly string[];
  scopes: ReadonlySet<string>;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export const SUB_MAX = 128;

export function identityFrom(payload: JWTPayload): Identity {
  const { sub, name, scope, exp } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > SUB_MAX) {
    throw new AuthError('bad_claims', `token sub must be a string of 1-${SUB_MAX} characters`);
  }
  if (name !== undefined && typeof name !== 'string')
    throw new AuthError('bad_claims', 'token name must be a string');
  if (scope !== undefined && typeof scope !== 'string') {
    throw new AuthError('bad_claims', 'token scope must be a space-separated string');
  }
  const rooms = patterns(payload.rooms, 'rooms') ?? Object.freeze([]);
  const identity: Identity = {
    userId: sub,
    rooms,
    pub: patterns(payload.pub, 'pub') ?? rooms,
    scopes: scopesOf(scope),
    exp: exp as number, // jwtVerify was told exp is required and checked it is a number
  };
  if (name !== undefined) identity.name = name;
  return Object.freeze(identity);
}

// A gateway keeps an identity per connection and most tokens carry no scope, so those share one
// empty set (an empty Set costs ~180 B); scopes are a ReadonlySet, never changed after this.
const NO_SCOPES: ReadonlySet<string> = new Set();

function scopesOf(scope: string | undefined): ReadonlySet<string> {
  const list = scope?.split(/\s+/).filter((s) => s.length > 0) ?? [];
  return list.length === 0 ? NO_SCOPES : new Set(list);
}

function patterns(value: unknown, claim: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new AuthError('bad_claims', `token ${claim} must be an array of strings`);
  }
  return Object.freeze([...value]);
}
