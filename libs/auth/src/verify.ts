/**
 * Token verification. `createVerifier` resolves the key once at start; `verify` then does one
 * signature check and a few claim checks per token and caches nothing, so revocation by short
 * expiry works and memory does not grow with the number of users.
 */
import { errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import { type Identity, identityFrom } from './claims.ts';
import { AuthError } from './errors.ts';
import { type AuthOptions, resolveKeySource } from './keys.ts';
import { hs256Verify } from './verify.hs256.ts';

export interface Verifier {
  /** Resolves to the token's identity, or rejects with an AuthError saying why. */
  verify(token: string | undefined): Promise<Identity>;
  /**
   * The same check done synchronously, for key sources that allow it (an HS256 secret); absent
   * otherwise (a JWKS key may need a fetch). Throws an AuthError.
   */
  verifySync?(token: string | undefined): Identity;
}

/** Far above any real JWT; bounds the work an unauthenticated peer can cause. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export async function createVerifier(opts: AuthOptions): Promise<Verifier> {
  const clockTolerance = opts.clockToleranceSec ?? 5;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0)
    throw new Error('auth: clockToleranceSec must be >= 0');
  const source = await resolveKeySource(opts);
  if (opts.secret) {
    const hs = {
      secret: opts.secret,
      issuer: opts.issuer,
      audience: opts.audience,
      clockToleranceSec: clockTolerance,
    };
    const verifySync = (token: string | undefined) => hs256Verify(checkedToken(token), hs);
    return { verifySync, verify: async (token) => verifySync(token) };
  }
  const options: JWTVerifyOptions = {
    algorithms: source.algorithms,
    clockTolerance,
    requiredClaims: ['exp'],
  };
  if (opts.issuer) options.issuer = opts.issuer;
  if (opts.audience) options.audience = opts.audience;
  const accepted = source.algorithms.join(', ');
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(checkedToken(token), source.getKey, options));
      } catch (err) {
        throw toAuthError(err, accepted);
      }
      return identityFrom(payload);
    },
  };
}

function checkedToken(token: string | undefined): string {
  if (!token) throw new AuthError('missing', 'no token (Authorization: Bearer or ?token=)');
  if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('malformed', 'token too long');
  return token;
}

function toAuthError(err: unknown, accepted: string): AuthError {
  if (err instanceof AuthError) return err;
  const opts = { cause: err };
  if (err instanceof errors.JWTExpired) return new AuthError('expired', 'token expired', opts);
  if (err instanceof errors.JWTClaimValidationFailed) return claimError(err, opts);
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new AuthError('bad_alg', `token algorithm not allowed (accepted: ${accepted})`, opts);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError('bad_signature', 'token signature invalid', opts);
  }
  if (err instanceof errors.JOSEError) return new AuthError('malformed', 'token malformed', opts);
  // A key that resolved but cannot verify this algorithm (e.g. a JWKS entry of the wrong type).
  return new AuthError('no_key', 'no usable key for this token', opts);
}

function claimError(
  err: InstanceType<typeof errors.JWTClaimValidationFailed>,
  opts: ErrorOptions,
): AuthError {
  if (err.claim === 'nbf' && err.reason === 'check_failed') {
    return new AuthError('not_yet_valid', 'token not yet valid', opts);
  }
  if (err.claim === 'iss' || err.claim === 'aud') {
    return new AuthError('bad_claims', `token ${err.claim} not accepted`, opts);
  }
  if (err.reason === 'missing') return new AuthError('bad_claims', `token has no ${err.claim} claim`, opts);
  return new AuthError('bad_claims', `token ${err.claim} claim invalid`, opts);
}
