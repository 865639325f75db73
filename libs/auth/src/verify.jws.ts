/**
 * The algorithm-independent half of synchronous JWT verification: splitting a compact JWS, the
 * header rules (alg allowlist, no `crit`) and the claim rules (exp required, nbf, iss/aud when
 * configured, clock tolerance). Each verifier (verify.hs256.ts, verify.key.ts) adds only its
 * signature check, between checkHeader and identityOf, so no claim is read before the signature
 * is proven. Same rules and error reasons as jose's jwtVerify, which Parley used before.
 */
import { type Identity, identityFrom } from './claims.ts';
import { AuthError } from './errors.ts';

export interface Jws {
  header: Record<string, unknown>;
  /** `header.payload`, the bytes the signature covers. */
  signingInput: string;
  /** The payload part, still base64url: decoded only after the signature checked out. */
  payload: string;
  signature: Buffer;
}

export interface ClaimRules {
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

export function parseJws(token: string): Jws {
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthError('malformed', 'token malformed');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h);
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new AuthError('malformed', 'token malformed');
  return {
    header: header as Claims,
    signingInput: `${h}.${p}`,
    payload: p,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** The token's alg, when it is one of `accepted`; `accepted` is fixed by the key, never by the token. */
export function checkHeader(jws: Jws, accepted: readonly string[]): string {
  const { alg, crit } = jws.header;
  if (typeof alg !== 'string' || !accepted.includes(alg))
    throw new AuthError('bad_alg', `token algorithm not allowed (accepted: ${accepted.join(', ')})`);
  if (crit !== undefined) throw new AuthError('malformed', 'token malformed (crit not supported)');
  return alg;
}

/** The identity in a payload whose signature was verified. */
export function identityOf(jws: Jws, rules: ClaimRules): Identity {
  const claims = decodeJson(jws.payload) as Claims | null;
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new AuthError('malformed', 'token malformed');
  }
  checkTimes(claims, rules.clockToleranceSec);
  if (rules.issuer !== undefined && claims.iss !== rules.issuer)
    throw new AuthError('bad_claims', 'token iss not accepted');
  if (rules.audience !== undefined && !audienceMatches(claims.aud, rules.audience)) {
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
