/**
 * Synchronous RS256 / ES256 / EdDSA verification with node:crypto and a public KeyObject: the PEM
 * key (AUTH_PUBLIC_KEY_FILE) and JWKS keys already fetched. Like HS256 (verify.hs256.ts), this lets
 * the gateway verify inside uWS's upgrade callback and upgrade there, with no async hop and no
 * uncorked upgrade. The header and claim rules are verify.jws.ts's.
 */
import { type KeyObject, verify } from 'node:crypto';
import type { Identity } from './claims.ts';
import { AuthError } from './errors.ts';
import { type ClaimRules, identityOf, type Jws } from './verify.jws.ts';

/** Everything a JWKS may sign with; a PEM key allows the subset its type supports (algorithmsOf). */
export const ASYMMETRIC_ALGS: readonly string[] = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];
/** RFC 7518 §3.3 requires 2048 bits; jose, used before, refused smaller keys too. */
export const RSA_MIN_BITS = 2048;

/** A public key with the algorithms it verifies, worked out once (not per token). */
export interface VerifyKey {
  key: KeyObject;
  algorithms: readonly string[];
}

/** The algorithms Parley verifies with this key; empty when none (unsupported type or curve, small RSA). */
export function algorithmsOf(key: KeyObject): string[] {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return (details?.modulusLength ?? 0) >= RSA_MIN_BITS ? ['RS256'] : [];
    case 'ec':
      return details?.namedCurve === 'prime256v1' ? ['ES256'] : [];
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}

/** Checks the signature of a token whose header passed checkHeader with `alg`, then its claims. */
export function keyVerify(jws: Jws, alg: string, k: VerifyKey, rules: ClaimRules): Identity {
  // A JWKS entry of another type than the token's alg (a PEM key's list is the header allowlist).
  if (!k.algorithms.includes(alg)) throw new AuthError('no_key', 'no usable key for this token');
  if (!signatureValid(jws, alg, k.key)) throw new AuthError('bad_signature', 'token signature invalid');
  return identityOf(jws, rules);
}

function signatureValid(jws: Jws, alg: string, key: KeyObject): boolean {
  const data = Buffer.from(jws.signingInput);
  try {
    if (alg === 'RS256') return verify('sha256', data, key, jws.signature);
    // JWS carries ECDSA signatures as raw r || s (RFC 7518 §3.4), not DER.
    if (alg === 'ES256') return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, jws.signature);
    return verify(null, data, key, jws.signature); // EdDSA / Ed25519: the curve fixes the hash
  } catch {
    return false; // a signature of the wrong length or shape is simply not valid
  }
}
