/**
 * Synchronous HS256 verification with node:crypto. The gateway verifies tokens inside uWS's
 * upgrade callback with it, so the upgrade happens in that callback (uWS corks it itself; an async
 * upgrade needs res.cork, which with this uWS build sometimes dropped the new socket). It is also
 * ~3x cheaper than jose's WebCrypto path. HS256 only, so `none` and every other alg are refused;
 * the claim rules are verify.jws.ts's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Identity } from './claims.ts';
import { AuthError } from './errors.ts';
import { type ClaimRules, checkHeader, identityOf, parseJws } from './verify.jws.ts';

export interface Hs256Options extends ClaimRules {
  secret: string;
}

const HS256 = ['HS256'];

export function hs256Verify(token: string, o: Hs256Options): Identity {
  const jws = parseJws(token);
  checkHeader(jws, HS256);
  const expected = createHmac('sha256', o.secret).update(jws.signingInput).digest();
  if (jws.signature.length !== expected.length || !timingSafeEqual(jws.signature, expected)) {
    throw new AuthError('bad_signature', 'token signature invalid');
  }
  return identityOf(jws, o);
}
