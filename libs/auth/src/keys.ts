/**
 * Key sources. Exactly one is configured; each fixes the algorithm allowlist, so a token can never
 * choose its own verification method (no `none`, no HS256 signed with a public key).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { JwksKeys } from './keys.jwks.ts';
import { algorithmsOf, RSA_MIN_BITS, type VerifyKey } from './verify.key.ts';

export interface AuthOptions {
  /** HS256 shared secret (AUTH_JWT_SECRET), at least 32 bytes. */
  secret?: string;
  /** PEM public key or certificate (AUTH_PUBLIC_KEY_FILE): RSA -> RS256, P-256 -> ES256, Ed25519 -> EdDSA. */
  publicKeyFile?: string;
  /** JWKS endpoint (AUTH_JWKS_URL), fetched lazily and cached; asymmetric algorithms only. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Allowed clock skew for exp/nbf; default 5. */
  clockToleranceSec?: number;
}

export type KeySource =
  | { kind: 'secret'; secret: string }
  | { kind: 'key'; key: VerifyKey }
  | { kind: 'jwks'; jwks: JwksKeys };

export const HS_MIN_SECRET_BYTES = 32;

/** RFC 7518 §3.2 requires an HS256 key at least as long as the hash. */
function checkSecret(secret: string): void {
  const bytes = Buffer.byteLength(secret);
  if (bytes < HS_MIN_SECRET_BYTES) {
    throw new Error(`auth: the HS256 secret must be at least ${HS_MIN_SECRET_BYTES} bytes (got ${bytes})`);
  }
}

/** Imports an HS256 secret once (signing dev and test tokens). */
export async function importHmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  checkSecret(secret);
  const bytes = new TextEncoder().encode(secret);
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

export async function resolveKeySource(opts: AuthOptions): Promise<KeySource> {
  const given = (['secret', 'publicKeyFile', 'jwksUrl'] as const).filter((k) => opts[k]);
  if (given.length !== 1) {
    throw new Error(
      'auth: configure exactly one key source: secret (AUTH_JWT_SECRET), publicKeyFile (AUTH_PUBLIC_KEY_FILE) ' +
        `or jwksUrl (AUTH_JWKS_URL); got ${given.length === 0 ? 'none' : given.join(' and ')}`,
    );
  }
  if (opts.secret) {
    checkSecret(opts.secret);
    return { kind: 'secret', secret: opts.secret };
  }
  if (opts.publicKeyFile) return { kind: 'key', key: await publicKey(opts.publicKeyFile) };
  return { kind: 'jwks', jwks: new JwksKeys(jwksUrl(opts.jwksUrl ?? '')) };
}

async function publicKey(file: string): Promise<VerifyKey> {
  let key: KeyObject;
  try {
    key = createPublicKey(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`auth: cannot read a PEM public key from ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const algorithms = algorithmsOf(key);
  if (algorithms.length > 0) return { key, algorithms };
  const type = key.asymmetricKeyType;
  const { namedCurve: curve, modulusLength: bits } = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa')
    throw new Error(`auth: the RSA key in ${file} has ${bits} bits; RS256 needs at least ${RSA_MIN_BITS}`);
  throw new Error(
    `auth: unsupported key type in ${file}: ${type}${curve ? ` ${curve}` : ''} (use RSA, P-256 or Ed25519)`,
  );
}

function jwksUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new Error('auth: jwksUrl is not a URL', { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('auth: jwksUrl must be http(s)');
  return url;
}
