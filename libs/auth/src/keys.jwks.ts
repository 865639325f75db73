/**
 * JWKS keys for synchronous verification. jose's remote key set stays the source of truth for
 * fetching (HTTP, its cache, the cooldown that keeps unknown kids from triggering a fetch each);
 * this keeps the keys it resolved, by alg and kid, for `maxAgeMs` (jose's own cache age), so a
 * token whose kid was seen recently verifies without I/O. A key removed from the set is therefore
 * still accepted for up to `maxAgeMs`, as with jose alone. Tokens without a kid are not cached (jose
 * picks their key by alg, which a later set may make ambiguous): they always take the async path.
 */
import { KeyObject } from 'node:crypto';
import { createRemoteJWKSet } from 'jose';
import { AuthError } from './errors.ts';
import { algorithmsOf, type VerifyKey } from './verify.key.ts';

/** jose's default cacheMaxAge. */
const MAX_AGE_MS = 10 * 60_000;

interface Entry {
  key: VerifyKey;
  until: number;
}

const cacheId = (alg: string, kid: unknown) => (typeof kid === 'string' ? `${alg} ${kid}` : undefined);

export class JwksKeys {
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private readonly entries = new Map<string, Entry>();

  constructor(
    url: URL,
    private readonly maxAgeMs = MAX_AGE_MS,
  ) {
    this.remote = createRemoteJWKSet(url, { cacheMaxAge: maxAgeMs });
  }

  /** The key for this alg and kid if it was resolved within maxAgeMs; undefined means fetch(). */
  cached(alg: string, kid: unknown): VerifyKey | undefined {
    const id = cacheId(alg, kid);
    const e = id === undefined ? undefined : this.entries.get(id);
    if (e === undefined || e.until > Date.now()) return e?.key;
    this.entries.delete(id as string);
    return undefined;
  }

  /** Resolves the key through jose (which fetches the set when needed) and keeps it. */
  async fetch(alg: string, kid: unknown): Promise<VerifyKey> {
    let found: CryptoKey | KeyObject;
    try {
      found = await this.remote({ alg, ...(typeof kid === 'string' ? { kid } : {}) });
    } catch (err) {
      // No kid match, endpoint down, bad document: the server's problem or an unknown signer, never
      // a verdict on the signature.
      throw new AuthError('no_key', 'no signing key found for this token', { cause: err });
    }
    const object = found instanceof KeyObject ? found : KeyObject.from(found);
    const key = { key: object, algorithms: algorithmsOf(object) };
    const id = cacheId(alg, kid);
    if (id !== undefined) {
      const now = Date.now();
      for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
      this.entries.set(id, { key, until: now + this.maxAgeMs });
    }
    return key;
  }
}
