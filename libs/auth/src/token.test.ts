import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken, createVerifier, DEV_SECRET, signToken } from './index.ts';

describe('bearerToken', () => {
  it('takes the token from the Authorization header, any scheme case, trimmed', () => {
    expect(bearerToken('Bearer abc.def.ghi', undefined)).toBe('abc.def.ghi');
    expect(bearerToken('bearer   abc ', undefined)).toBe('abc');
  });

  it('prefers the header over the query', () => {
    expect(bearerToken('Bearer fromHeader', 'fromQuery')).toBe('fromHeader');
  });

  it('falls back to the query when the header is absent or not a bearer token', () => {
    expect(bearerToken(undefined, 'q')).toBe('q');
    expect(bearerToken('Basic dXNlcjpwdw==', 'q')).toBe('q');
    expect(bearerToken('Bearer', 'q')).toBe('q');
    expect(bearerToken('Bearer a b', 'q')).toBe('q');
  });

  it('returns undefined when there is no token at all', () => {
    expect(bearerToken(undefined, undefined)).toBeUndefined();
    expect(bearerToken('', '')).toBeUndefined();
    expect(bearerToken('Basic x', undefined)).toBeUndefined();
  });
});

describe('signToken', () => {
  it('signs HS256 with sub, iat, exp and only the given claims', async () => {
    const token = await signToken(
      DEV_SECRET,
      { sub: 'alice', rooms: ['*'], name: undefined },
      { ttlSec: 60 },
    );
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const payload = decodeJwt(token);
    expect(Object.keys(payload).sort()).toEqual(['exp', 'iat', 'rooms', 'sub']);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);
  });

  it('round-trips every claim through the verifier', async () => {
    const verifier = await createVerifier({ secret: DEV_SECRET, issuer: 'i', audience: 'a' });
    const token = await signToken(
      DEV_SECRET,
      { sub: 'bob', name: 'Bob', rooms: ['a', 'b-*'], pub: ['a'], scope: 'admin' },
      { issuer: 'i', audience: 'a' },
    );
    const id = await verifier.verify(token);
    expect(id).toMatchObject({ userId: 'bob', name: 'Bob', rooms: ['a', 'b-*'], pub: ['a'] });
    expect(id.scopes.has('admin')).toBe(true);
  });

  it('mints already expired tokens for tests with a negative ttl', async () => {
    const verifier = await createVerifier({ secret: DEV_SECRET });
    await expect(
      verifier.verify(await signToken(DEV_SECRET, { sub: 'a' }, { ttlSec: -60 })),
    ).rejects.toMatchObject({
      reason: 'expired',
    });
  });

  it('refuses a short secret and a fractional ttl', async () => {
    await expect(signToken('short', { sub: 'a' })).rejects.toThrow(/at least 32 bytes/);
    await expect(signToken(DEV_SECRET, { sub: 'a' }, { ttlSec: 1.5 })).rejects.toThrow(/ttlSec/);
  });
});
