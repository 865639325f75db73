import { CompactSign, type JWTPayload, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type AuthFailure, createVerifier, DEV_SECRET, isAuthError, signToken } from './index.ts';

const SECRET = DEV_SECRET;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Signs arbitrary claims and headers with HS256 (or another HMAC alg) to build hostile tokens. */
function hs(payload: JWTPayload, alg = 'HS256', secret = SECRET): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg }).sign(new TextEncoder().encode(secret));
}

/** Correctly signed, but the payload is not a JWT claims object. */
function signRaw(payload: string): Promise<string> {
  const enc = new TextEncoder();
  return new CompactSign(enc.encode(payload)).setProtectedHeader({ alg: 'HS256' }).sign(enc.encode(SECRET));
}

async function failure(verify: (t: string | undefined) => Promise<unknown>, token: string | undefined) {
  try {
    await verify(token);
  } catch (err) {
    if (!isAuthError(err)) throw err;
    expect(Buffer.byteLength(err.message)).toBeLessThan(100);
    for (const part of token?.split('.') ?? []) if (part.length > 8) expect(err.message).not.toContain(part);
    return { reason: err.reason, message: err.message };
  }
  throw new Error('expected an AuthError');
}

describe('HS256 verifier', async () => {
  const verifier = await createVerifier({ secret: SECRET });
  const verify = (t: string | undefined) => verifier.verify(t);

  it('returns the identity with defaults: no rooms, pub = rooms, no scopes', async () => {
    const bare = await verify(await signToken(SECRET, { sub: 'alice' }));
    expect(bare).toMatchObject({ userId: 'alice', rooms: [], pub: [] });
    expect(bare.scopes.size).toBe(0);
    expect(bare.name).toBeUndefined();
    const full = await verify(
      await signToken(SECRET, { sub: 'bob', name: 'Bob', rooms: ['a-*'], scope: ' admin  notify:send ' }),
    );
    expect(full).toMatchObject({ userId: 'bob', name: 'Bob', rooms: ['a-*'], pub: ['a-*'] });
    expect([...full.scopes]).toEqual(['admin', 'notify:send']);
    expect(full.exp).toBeGreaterThan(now());
    expect(Object.isFrozen(full)).toBe(true);
  });

  it('keeps an explicit pub list apart from rooms', async () => {
    const id = await verify(await signToken(SECRET, { sub: 'c', rooms: ['*'], pub: ['announce'] }));
    expect(id.pub).toEqual(['announce']);
  });

  const cases: [string, () => Promise<string | undefined>, AuthFailure][] = [
    ['undefined', async () => undefined, 'missing'],
    ['empty string', async () => '', 'missing'],
    ['garbage', async () => 'not-a-jwt', 'malformed'],
    ['three garbage segments', async () => 'abc.def.ghi', 'malformed'],
    ['a signed payload that is not JSON', () => signRaw('nope'), 'malformed'],
    ['a signed payload that is a JSON array', () => signRaw('["sub"]'), 'malformed'],
    ['an oversized token', async () => `${'a'.repeat(17_000)}.b.c`, 'malformed'],
    ['a wrong secret', () => hs({ sub: 'a', exp: now() + 60 }, 'HS256', `${SECRET}-other`), 'bad_signature'],
    [
      'alg none',
      async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'a', exp: now() + 60 })}.`,
      'bad_alg',
    ],
    ['HS512', () => hs({ sub: 'a', exp: now() + 60 }, 'HS512'), 'bad_alg'],
    ['an expired token', () => hs({ sub: 'a', exp: now() - 60 }), 'expired'],
    ['a token from the future', () => hs({ sub: 'a', exp: now() + 120, nbf: now() + 60 }), 'not_yet_valid'],
    ['no exp', () => hs({ sub: 'a' }), 'bad_claims'],
    ['a string exp', () => hs({ sub: 'a', exp: 'tomorrow' as unknown as number }), 'bad_claims'],
    ['no sub', () => hs({ exp: now() + 60 }), 'bad_claims'],
    ['an empty sub', () => hs({ sub: '', exp: now() + 60 }), 'bad_claims'],
    ['a 129-character sub', () => hs({ sub: 'x'.repeat(129), exp: now() + 60 }), 'bad_claims'],
    ['rooms as a string', () => hs({ sub: 'a', exp: now() + 60, rooms: '*' }), 'bad_claims'],
    ['rooms with a number', () => hs({ sub: 'a', exp: now() + 60, rooms: ['a', 1] }), 'bad_claims'],
    ['pub as an object', () => hs({ sub: 'a', exp: now() + 60, pub: {} }), 'bad_claims'],
    ['scope as an array', () => hs({ sub: 'a', exp: now() + 60, scope: ['admin'] }), 'bad_claims'],
    ['a numeric name', () => hs({ sub: 'a', exp: now() + 60, name: 7 }), 'bad_claims'],
  ];
  for (const [what, make, reason] of cases) {
    it(`refuses ${what} with ${reason}`, async () => {
      expect((await failure(verify, await make())).reason).toBe(reason);
    });
  }

  it('tolerates 5 s of clock skew by default, and no more', async () => {
    await expect(verify(await hs({ sub: 'a', exp: now() - 2 }))).resolves.toMatchObject({ userId: 'a' });
    await expect(verify(await hs({ sub: 'a', exp: now() + 60, nbf: now() + 2 }))).resolves.toBeTruthy();
    expect((await failure(verify, await hs({ sub: 'a', exp: now() - 10 }))).reason).toBe('expired');
  });

  it('refuses a token whose payload was altered after signing', async () => {
    const [h, , s] = (await signToken(SECRET, { sub: 'alice', rooms: ['lobby'] })).split('.');
    const forged = `${h}.${b64({ sub: 'alice', rooms: ['*'], exp: now() + 60 })}.${s}`;
    expect((await failure(verify, forged)).reason).toBe('bad_signature');
  });
});

describe('issuer and audience', async () => {
  const verifier = await createVerifier({ secret: SECRET, issuer: 'https://idp', audience: 'parley' });
  const verify = (t: string | undefined) => verifier.verify(t);
  const opts = { issuer: 'https://idp', audience: 'parley' };

  it('accepts matching iss and aud', async () => {
    await expect(verify(await signToken(SECRET, { sub: 'a' }, opts))).resolves.toMatchObject({ userId: 'a' });
  });

  it('refuses a wrong or missing iss or aud', async () => {
    const wrongIss = await signToken(SECRET, { sub: 'a' }, { ...opts, issuer: 'https://evil' });
    const wrongAud = await signToken(SECRET, { sub: 'a' }, { ...opts, audience: 'other' });
    const neither = await signToken(SECRET, { sub: 'a' });
    expect(await failure(verify, wrongIss)).toEqual({
      reason: 'bad_claims',
      message: 'token iss not accepted',
    });
    expect(await failure(verify, wrongAud)).toEqual({
      reason: 'bad_claims',
      message: 'token aud not accepted',
    });
    expect((await failure(verify, neither)).reason).toBe('bad_claims');
  });

  it('ignores iss and aud when not configured', async () => {
    const plain = await createVerifier({ secret: SECRET });
    const token = await signToken(SECRET, { sub: 'a' }, { issuer: 'x', audience: 'y' });
    await expect(plain.verify(token)).resolves.toMatchObject({ userId: 'a' });
  });
});

describe('createVerifier configuration', () => {
  it('requires exactly one key source', async () => {
    await expect(createVerifier({})).rejects.toThrow(/exactly one key source.*got none/);
    await expect(createVerifier({ secret: SECRET, jwksUrl: 'https://idp/jwks' })).rejects.toThrow(
      /got secret and jwksUrl/,
    );
  });

  it('refuses a short HS256 secret, a bad JWKS URL and a negative clock tolerance', async () => {
    await expect(createVerifier({ secret: 'short' })).rejects.toThrow(/at least 32 bytes/);
    await expect(createVerifier({ jwksUrl: 'ftp://idp/jwks' })).rejects.toThrow(/http\(s\)/);
    await expect(createVerifier({ secret: SECRET, clockToleranceSec: -1 })).rejects.toThrow(
      /clockToleranceSec/,
    );
  });
});
