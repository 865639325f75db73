/**
 * Token verification. `createVerifier` resolves the key once at start; `verify` then does one
 * signature check and a few claim checks per token and caches nothing per token, so revocation by
 * short expiry works and memory does not grow with the number of users. Every key source verifies
 * synchronously with node:crypto (verify.hs256.ts, verify.key.ts); the only I/O is fetching a JWKS
 * key the first time its kid is seen (keys.jwks.ts).
 */
import type { Identity } from './claims.ts';
import { AuthError } from './errors.ts';
import { type AuthOptions, type KeySource, resolveKeySource } from './keys.ts';
import { hs256Verify } from './verify.hs256.ts';
import { type ClaimRules, checkHeader, parseJws } from './verify.jws.ts';
import { ASYMMETRIC_ALGS, keyVerify } from './verify.key.ts';

export interface Verifier {
  /** Resolves to the token's identity, or rejects with an AuthError saying why. */
  verify(token: string | undefined): Promise<Identity>;
  /**
   * The same check without I/O, for callers that cannot wait (the gateway's upgrade callback):
   * the identity, or undefined when the answer needs a fetch first (a JWKS key whose kid was not
   * seen yet; verify() fetches it, and later tokens with that kid verify here). Throws an AuthError.
   */
  verifySync(token: string | undefined): Identity | undefined;
}

/** Far above any real JWT; bounds the work an unauthenticated peer can cause. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export async function createVerifier(opts: AuthOptions): Promise<Verifier> {
  const clockToleranceSec = opts.clockToleranceSec ?? 5;
  if (!Number.isFinite(clockToleranceSec) || clockToleranceSec < 0)
    throw new Error('auth: clockToleranceSec must be >= 0');
  const rules: ClaimRules = { issuer: opts.issuer, audience: opts.audience, clockToleranceSec };
  return verifierFor(await resolveKeySource(opts), rules);
}

function verifierFor(source: KeySource, rules: ClaimRules): Verifier {
  if (source.kind === 'secret') {
    const hs = { ...rules, secret: source.secret };
    return always((token) => hs256Verify(checkedToken(token), hs));
  }
  if (source.kind === 'key') {
    const k = source.key;
    return always((token) => {
      const jws = parseJws(checkedToken(token));
      return keyVerify(jws, checkHeader(jws, k.algorithms), k, rules);
    });
  }
  const { jwks } = source;
  return {
    verifySync(token) {
      const jws = parseJws(checkedToken(token));
      const alg = checkHeader(jws, ASYMMETRIC_ALGS);
      const k = jwks.cached(alg, jws.header.kid);
      return k && keyVerify(jws, alg, k, rules);
    },
    async verify(token) {
      const jws = parseJws(checkedToken(token));
      const alg = checkHeader(jws, ASYMMETRIC_ALGS);
      const k = jwks.cached(alg, jws.header.kid) ?? (await jwks.fetch(alg, jws.header.kid));
      return keyVerify(jws, alg, k, rules);
    },
  };
}

/** A verifier that never needs I/O: verify() is verifySync() in a promise. */
function always(verifySync: (token: string | undefined) => Identity): Verifier {
  return {
    verifySync,
    verify: async (token) => verifySync(token),
  };
}

function checkedToken(token: string | undefined): string {
  if (!token) throw new AuthError('missing', 'no token (Authorization: Bearer or ?token=)');
  if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('malformed', 'token too long');
  return token;
}
