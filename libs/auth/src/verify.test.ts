/**
 * The verifier contract, run against every key source (HS256 secret, PEM RS256 / ES256 / EdDSA,
 * JWKS) and through both entry points: verify() and verifySync() (what the gateway's upgrade
 * callback uses). Source-specific behaviour (key files, JWKS fetching) is in keys.test.ts.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, type JWTPayload } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AuthFailure,
  createVerifier,
  DEV_SECRET,
  isAuthError,
  signToken,
  type Verifier,
} from './index.ts';

const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const enc = new TextEncoder();

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'] | Uint8Array;
type Rules = { issuer?: string; audience?: string };

/** Signs any payload (claims, or raw text to build hostile tokens) with any header. */
function signWith(key: SigningKey, header: Record<string, unknown>, payload: JWTPayload | string) {
  const bytes = enc.encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  // jose signs a crit header only when told the extension is understood.
  const crit = Array.isArray(header.crit) ? Object.fromEntries(header.crit.map((c) => [c, true])) : undefined;
  return new CompactSign(bytes).setProtectedHeader(header as { alg: string }).sign(key, { crit });
}

interface Source {
  name: string;
  verifier(rules?: Rules): Promise<Verifier>;
  /** A correctly signed token. */
  sign(payload: JWTPayload | string, extraHeader?: Record<string, unknown>): Promise<string>;
  /** Same algorithm, a key the verifier does not trust. */
  stranger(payload: JWTPayload): Promise<string>;
  /** Validly signed with an algorithm this source must refuse. */
  foreign: { alg: string; sign(payload: JWTPayload): Promise<string> };
}

const dir = await mkdtemp(join(tmpdir(), 'parley-verify-'));
const jwksKeys: object[] = [];
const jwksServer = createServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwksKeys })),
);
jwksServer.listen(0, '127.0.0.1');
await once(jwksServer, 'listening');
const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
afterAll(async () => {
  jwksServer.close();
  await rm(dir, { recursive: true, force: true });
});

function hmacSource(): Source {
  const secret = enc.encode(DEV_SECRET);
  return {
    name: 'HS256 secret',
    verifier: (rules) => createVerifier({ secret: DEV_SECRET, ...rules }),
    sign: (p, h) => signWith(secret, { alg: 'HS256', ...h }, p),
    stranger: (p) => signWith(enc.encode(`${DEV_SECRET}-other`), { alg: 'HS256' }, p),
    foreign: { alg: 'HS512', sign: (p) => signWith(secret, { alg: 'HS512' }, p) },
  };
}

async function pemSource(alg: string, foreignAlg: string): Promise<Source> {
  const opts = { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) };
  const pair = await generateKeyPair(alg, opts);
  const other = await generateKeyPair(alg, opts);
  const foreign = await generateKeyPair(foreignAlg);
  const file = join(dir, `${alg}.pem`);
  await writeFile(file, await exportSPKI(pair.publicKey));
  return {
    name: `PEM ${alg}`,
    verifier: (rules) => createVerifier({ publicKeyFile: file, ...rules }),
    sign: (p, h) => signWith(pair.privateKey, { alg, ...h }, p),
    stranger: (p) => signWith(other.privateKey, { alg }, p),
    foreign: { alg: foreignAlg, sign: (p) => signWith(foreign.privateKey, { alg: foreignAlg }, p) },
  };
}

async function jwksSource(alg: string): Promise<Source> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const other = await generateKeyPair(alg);
  const kid = `${alg}-${jwksKeys.length}`;
  jwksKeys.push({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' });
  const secret = enc.encode(DEV_SECRET);
  return {
    name: `JWKS ${alg}`,
    verifier: (rules) => createVerifier({ jwksUrl, ...rules }),
    sign: (p, h) => signWith(pair.privateKey, { alg, kid, ...h }, p),
    stranger: (p) => signWith(other.privateKey, { alg, kid }, p),
    // HS256 keyed with anything, claiming a trusted kid: the classic confusion attempt.
    foreign: { alg: 'HS256', sign: (p) => signWith(secret, { alg: 'HS256', kid }, p) },
  };
}

const sources: Source[] = [
  hmacSource(),
  await pemSource('RS256', 'ES256'),
  await pemSource('ES256', 'RS256'),
  await pemSource('EdDSA', 'ES256'),
  await jwksSource('RS256'),
  await jwksSource('ES256'),
];

type Verify = (token: string | undefined) => Promise<unknown>;

/**
 * The two entry points as one signature. A JWKS verifier's sync path answers once the kid's key
 * was fetched: `prepared` runs one verify() of a valid token first, as the gateway's first
 * connection with that kid would.
 */
const paths: { name: string; entry: (v: Verifier) => Verify }[] = [
  { name: 'verify', entry: (v) => (t) => v.verify(t) },
  {
    name: 'verifySync',
    entry: (v) => async (t) => {
      const id = v.verifySync(t);
      if (id === undefined) throw new Error('verifySync could not decide without a fetch');
      return id;
    },
  },
];

async function prepared(source: Source, rules?: Rules): Promise<Verifier> {
  const v = await source.verifier(rules);
  await v.verify(
    await source.sign({ sub: 'warm-up', exp: now() + 60, iss: rules?.issuer, aud: rules?.audience }),
  );
  return v;
}

async function failure(verify: Verify, token: string | undefined) {
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

for (const source of sources) {
  for (const path of paths) {
    describe(`${source.name} through ${path.name}`, async () => {
      const verify = path.entry(await prepared(source));
      const sign = (p: JWTPayload | string) => source.sign(p);
      const valid = (extra: JWTPayload = {}) => sign({ sub: 'a', exp: now() + 60, ...extra });

      it('returns the identity with defaults: no rooms, pub = rooms, no scopes', async () => {
        const bare = (await verify(await sign({ sub: 'alice', exp: now() + 60 }))) as Record<string, unknown>;
        expect(bare).toMatchObject({ userId: 'alice', rooms: [], pub: [] });
        expect((bare.scopes as Set<string>).size).toBe(0);
        expect(bare.name).toBeUndefined();
        const full = await verify(
          await valid({ sub: 'bob', name: 'Bob', rooms: ['a-*'], scope: ' admin  notify:send ' }),
        );
        expect(full).toMatchObject({ userId: 'bob', name: 'Bob', rooms: ['a-*'], pub: ['a-*'] });
        expect([...(full as { scopes: Set<string> }).scopes]).toEqual(['admin', 'notify:send']);
        expect((full as { exp: number }).exp).toBeGreaterThan(now());
        expect(Object.isFrozen(full)).toBe(true);
      });

      it('keeps an explicit pub list apart from rooms', async () => {
        const id = await verify(await valid({ sub: 'c', rooms: ['*'], pub: ['announce'] }));
        expect((id as { pub: string[] }).pub).toEqual(['announce']);
      });

      const cases: [string, () => Promise<string | undefined>, AuthFailure][] = [
        ['undefined', async () => undefined, 'missing'],
        ['empty string', async () => '', 'missing'],
        ['garbage', async () => 'not-a-jwt', 'malformed'],
        ['three garbage segments', async () => 'abc.def.ghi', 'malformed'],
        ['a signed payload that is not JSON', () => sign('nope'), 'malformed'],
        ['a signed payload that is a JSON array', () => sign('["sub"]'), 'malformed'],
        ['an oversized token', async () => `${'a'.repeat(17_000)}.b.c`, 'malformed'],
        [
          'a crit header',
          () => source.sign({ sub: 'a', exp: now() + 60 }, { crit: ['x'], x: 1 }),
          'malformed',
        ],
        ['a key it does not trust', () => source.stranger({ sub: 'a', exp: now() + 60 }), 'bad_signature'],
        [
          'alg none',
          async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'a', exp: now() + 60 })}.`,
          'bad_alg',
        ],
        [source.foreign.alg, () => source.foreign.sign({ sub: 'a', exp: now() + 60 }), 'bad_alg'],
        ['an expired token', () => sign({ sub: 'a', exp: now() - 60 }), 'expired'],
        [
          'a token from the future',
          () => sign({ sub: 'a', exp: now() + 120, nbf: now() + 60 }),
          'not_yet_valid',
        ],
        ['no exp', () => sign({ sub: 'a' }), 'bad_claims'],
        ['a string exp', () => valid({ exp: 'tomorrow' as unknown as number }), 'bad_claims'],
        ['a string nbf', () => valid({ nbf: 'now' as unknown as number }), 'bad_claims'],
        ['no sub', () => sign({ exp: now() + 60 }), 'bad_claims'],
        ['an empty sub', () => valid({ sub: '' }), 'bad_claims'],
        ['a 129-character sub', () => valid({ sub: 'x'.repeat(129) }), 'bad_claims'],
        ['rooms as a string', () => valid({ rooms: '*' }), 'bad_claims'],
        ['rooms with a number', () => valid({ rooms: ['a', 1] }), 'bad_claims'],
        ['pub as an object', () => valid({ pub: {} }), 'bad_claims'],
        ['scope as an array', () => valid({ scope: ['admin'] }), 'bad_claims'],
        ['a numeric name', () => valid({ name: 7 }), 'bad_claims'],
      ];
      for (const [what, make, reason] of cases) {
        it(`refuses ${what} with ${reason}`, async () => {
          expect((await failure(verify, await make())).reason).toBe(reason);
        });
      }

      it('tolerates 5 s of clock skew by default, and no more', async () => {
        await expect(verify(await sign({ sub: 'a', exp: now() - 2 }))).resolves.toMatchObject({
          userId: 'a',
        });
        await expect(verify(await valid({ nbf: now() + 2 }))).resolves.toBeTruthy();
        expect((await failure(verify, await sign({ sub: 'a', exp: now() - 10 }))).reason).toBe('expired');
      });

      it('refuses a token whose payload was altered after signing', async () => {
        const [h, , s] = (await valid({ sub: 'alice', rooms: ['lobby'] })).split('.');
        const forged = `${h}.${b64({ sub: 'alice', rooms: ['*'], exp: now() + 60 })}.${s}`;
        expect((await failure(verify, forged)).reason).toBe('bad_signature');
      });

      describe('issuer and audience', async () => {
        const rules = { issuer: 'https://idp', audience: 'parley' };
        const strict = path.entry(await prepared(source, rules));

        it('accepts matching iss and aud, also aud in a list', async () => {
          await expect(
            strict(await valid({ iss: rules.issuer, aud: rules.audience })),
          ).resolves.toMatchObject({
            userId: 'a',
          });
          await expect(
            strict(await valid({ iss: rules.issuer, aud: ['x', rules.audience] })),
          ).resolves.toBeTruthy();
        });

        it('refuses a wrong or missing iss or aud', async () => {
          expect(await failure(strict, await valid({ iss: 'https://evil', aud: rules.audience }))).toEqual({
            reason: 'bad_claims',
            message: 'token iss not accepted',
          });
          expect(await failure(strict, await valid({ iss: rules.issuer, aud: 'other' }))).toEqual({
            reason: 'bad_claims',
            message: 'token aud not accepted',
          });
          expect((await failure(strict, await valid())).reason).toBe('bad_claims');
        });

        it('ignores iss and aud when not configured', async () => {
          await expect(verify(await valid({ iss: 'x', aud: 'y' }))).resolves.toMatchObject({ userId: 'a' });
        });
      });
    });
  }
}

describe('HS256 tokens from signToken', () => {
  it('verify on both paths', async () => {
    const v = await createVerifier({ secret: DEV_SECRET });
    const token = await signToken(DEV_SECRET, { sub: 'alice', rooms: ['*'] });
    expect(v.verifySync(token)).toMatchObject({ userId: 'alice', rooms: ['*'] });
    await expect(v.verify(token)).resolves.toMatchObject({ userId: 'alice' });
  });
});

describe('createVerifier configuration', () => {
  it('requires exactly one key source', async () => {
    await expect(createVerifier({})).rejects.toThrow(/exactly one key source.*got none/);
    await expect(createVerifier({ secret: DEV_SECRET, jwksUrl: 'https://idp/jwks' })).rejects.toThrow(
      /got secret and jwksUrl/,
    );
  });

  it('refuses a short HS256 secret, a bad JWKS URL and a negative clock tolerance', async () => {
    await expect(createVerifier({ secret: 'short' })).rejects.toThrow(/at least 32 bytes/);
    await expect(createVerifier({ jwksUrl: 'ftp://idp/jwks' })).rejects.toThrow(/http\(s\)/);
    await expect(createVerifier({ secret: DEV_SECRET, clockToleranceSec: -1 })).rejects.toThrow(
      /clockToleranceSec/,
    );
  });
});
