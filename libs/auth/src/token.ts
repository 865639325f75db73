/** Token transport and dev/test token minting. */
import { SignJWT } from 'jose';
import { importHmacKey } from './keys.ts';

/** The well-known development secret; only ever a default outside production. */
export const DEV_SECRET = 'parley-dev-secret-change-me-0123456789abcdef';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** The token from `Authorization: Bearer <jwt>`, else from `?token=`; the header wins when both are set. */
export function bearerToken(
  authorizationHeader: string | undefined,
  queryToken: string | undefined,
): string | undefined {
  const m = authorizationHeader ? BEARER.exec(authorizationHeader) : null;
  if (m?.[1]) return m[1];
  return queryToken || undefined;
}

export interface TokenClaims {
  sub: string;
  name?: string;
  rooms?: string[];
  pub?: string[];
  scope?: string;
}

export interface SignOptions {
  /** Lifetime in seconds, default 3600; a negative value mints an already expired token (tests). */
  ttlSec?: number;
  issuer?: string;
  audience?: string;
}

/** Signs an HS256 JWT with `sub`, `iat`, `exp` and the given claims (undefined ones omitted). */
export async function signToken(
  secret: string,
  claims: TokenClaims,
  opts: SignOptions = {},
): Promise<string> {
  const ttl = opts.ttlSec ?? 3600;
  if (!Number.isInteger(ttl)) throw new Error('signToken: ttlSec must be an integer');
  const { sub, ...rest } = claims;
  const payload = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl);
  if (opts.issuer) jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt.setAudience(opts.audience);
  return jwt.sign(await importHmacKey(secret, 'sign'));
}
