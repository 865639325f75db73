/**
 * Synchronous HS256 verification with node:crypto. The gateway verifies tokens inside uWS's
 * upgrade callback with it, so the upgrade happens in that callback (uWS corks it itself; an async
 * upgrade needs res.cork, which with this uWS build sometimes dropped the new socket). It is also
 * ~3x cheaper than jose's WebCrypto path. Same rules and error reasons as the jose path: HS256
 * only (so `none` and every other alg are refused), exp required, nbf honoured, iss/aud when
 * configured, a clock tolerance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Identity, identityFrom } from './claims.ts';
import { AuthError } from './errors.ts';

export interface Hs256Options {
  secret: string;
  issuer?: string | undefined;
  audience?: string | undefined;
  clockToleranceSec: number;
}

type Claims = Record<string, unknown>;

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new AuthError('malformed', 'token malformed');
  }
}

export function hs256Verify(token: string, o: Hs256Options): Identity {
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthError('malformed', 'token malformed');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h) as Claims | null;
  if (header === null || typeof header !== 'object') throw new AuthError('malformed', 'token malformed');
  if (header.alg !== 'HS256') throw new AuthError('bad_alg', 'token algorithm not allowed (accepted: HS256)');
  if (header.crit !== undefined) throw new AuthError('malformed', 'token malformed (crit not supported)');
  const expected = createHmac('sha256', o.secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AuthError('bad_signature', 'token signature invalid');
  }
  const claims = decodeJson(p) as Claims | null;
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new AuthError('malformed', 'token malformed');
  }
  checkTimes(claims, o.clockToleranceSec);
  if (o.issuer !== undefined && claims.iss !== o.issuer)
    throw new AuthError('bad_claims', 'token iss not accepted');
  if (o.audience !== undefined && !audienceMatches(claims.aud, o.audience)) {
    throw new AuthError('bad_claims', 'token aud not accepted');
  }
  return identityFrom(claims);
}

function checkTimes(c: Claims, tolerance: number): void {
  const now = Math.floor(Date.now() / 1000);
  if (c.exp === undefined) throw new AuthError('bad_claims', 'token has no exp claim');
  if (typeof c.exp !== 'number') throw new AuthError('bad_claims', 'token exp claim invalid');
  if (c.exp <= now - tolerance) throw new AuthError('expired', 'token expired');
  if (c.nbf !== undefined) {
    if (typeof c.nbf !== 'number') throw new AuthError('bad_claims', 'token nbf claim invalid');
    if (c.nbf > now + tolerance) throw new AuthError('not_yet_valid', 'token not yet valid');
  }
  if (c.iat !== undefined && typeof c.iat !== 'number')
    throw new AuthError('bad_claims', 'token iat claim invalid');
}

function audienceMatches(aud: unknown, wanted: string): boolean {
  return aud === wanted || (Array.isArray(aud) && aud.includes(wanted));
}
