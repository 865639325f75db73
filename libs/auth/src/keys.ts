/**
 * Key sources. Exactly one is configured; each fixes the algorithm allowlist, so a token can never
 * choose its own verification method (no `none`, no HS256 signed with a public key).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { AuthError } from './errors.ts';

export interface AuthOptions {
  /** HS256 shared secret (AUTH_JWT_SECRET), at least 32 bytes. */
  secret?: string;
  /** PEM public key or certificate (AUTH_PUBLIC_KEY_FILE): RSA -> RS256, P-256 -> ES256, Ed25519 -> EdDSA. */
  publicKeyFile?: string;
  /** JWKS endpoint (AUTH_JWKS_URL), fetched lazily and cached by jose; asymmetric algorithms only. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Allowed clock skew for exp/nbf; default 5. */
  clockToleranceSec?: number;
}

export interface KeySource {
  algorithms: string[];
  getKey: JWTVerifyGetKey;
}

export const HS_MIN_SECRET_BYTES = 32;
const ASYMMETRIC_ALGS = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];

/** Imports an HS256 secret once; RFC 7518 §3.2 requires a key at least as long as the hash. */
export async function importHmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < HS_MIN_SECRET_BYTES) {
    throw new Error(
      `auth: the HS256 secret must be at least ${HS_MIN_SECRET_BYTES} bytes (got ${bytes.length})`,
    );
  }
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
  if (opts.secret) return fixedKey(['HS256'], await importHmacKey(opts.secret, 'verify'));
  if (opts.publicKeyFile) return publicKeySource(opts.publicKeyFile);
  return jwksSource(opts.jwksUrl ?? '');
}

function fixedKey(algorithms: string[], key: CryptoKey | KeyObject): KeySource {
  return { algorithms, getKey: async () => key };
}

async function publicKeySource(file: string): Promise<KeySource> {
  let key: KeyObject;
  try {
    key = createPublicKey(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`auth: cannot read a PEM public key from ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return fixedKey(algorithmsFor(key, file), key);
}

function algorithmsFor(key: KeyObject, file: string): string[] {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return ['RS256'];
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return ['ES256'];
  if (type === 'ed25519') return ['EdDSA', 'Ed25519'];
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new Error(
    `auth: unsupported key type in ${file}: ${type}${curve ? ` ${curve}` : ''} (use RSA, P-256 or Ed25519)`,
  );
}

function jwksSource(jwksUrl: string): KeySource {
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch (err) {
    throw new Error('auth: jwksUrl is not a URL', { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('auth: jwksUrl must be http(s)');
  const jwks = createRemoteJWKSet(url);
  // Any failure to find a key (no kid match, endpoint down, bad document) is the server's problem
  // or an unknown signer, never a verdict on the signature: report it as no_key.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (err) {
      throw new AuthError('no_key', 'no signing key found for this token', { cause: err });
    }
  };
  return { algorithms: ASYMMETRIC_ALGS, getKey };
}
