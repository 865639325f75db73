import { verify as cryptoVerify, generateKeyPairSync, KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AuthFailure, createVerifier, isAuthError, signToken, type Verifier } from './index.ts';
import { JwksKeys } from './keys.jwks.ts';

const now = () => Math.floor(Date.now() / 1000);
const claims: JWTPayload = { sub: 'alice', rooms: ['lobby'] };

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

function sign(key: SigningKey | Uint8Array, alg: string, kid?: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader(kid ? { alg, kid } : { alg })
    .setExpirationTime(now() + 60)
    .sign(key);
}

/**
 * Why verify() refuses the token; verifySync(), asked afterwards (once verify() fetched what it
 * could), must refuse it for the same reason, or (`cold`: a JWKS kid with no usable key) say it
 * cannot decide without a fetch.
 */
async function reasonOf(
  verifier: Verifier,
  token: string,
  sync: 'same' | 'cold' = 'same',
): Promise<AuthFailure> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAuthError(err)) throw new Error(`expected an AuthError, got ${String(err)}`);
  let syncReason: AuthFailure | 'undecided' | 'accepted';
  try {
    syncReason = verifier.verifySync(token) === undefined ? 'undecided' : 'accepted';
  } catch (e) {
    if (!isAuthError(e)) throw e;
    syncReason = e.reason;
  }
  expect(syncReason, 'verifySync').toBe(sync === 'cold' ? 'undecided' : err.reason);
  return err.reason;
}

/** An ECDSA P-256 signature from raw r || s to DER (SEQUENCE of two INTEGERs). */
function derSignature(raw: Buffer): Buffer {
  const int = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    const body = (v[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const seq = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-auth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function keyFile(alg: string, crv?: string) {
  const pair = await generateKeyPair(alg, { extractable: true, ...(crv ? { crv } : {}) });
  const pem = await exportSPKI(pair.publicKey);
  const file = join(dir, `${alg}-${crv ?? 'default'}.pem`);
  await writeFile(file, pem);
  return { ...pair, pem, file };
}

describe('PEM public key file', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    it(`verifies ${alg} tokens and refuses other algorithms`, async () => {
      const { privateKey, file } = await keyFile(alg, alg === 'EdDSA' ? 'Ed25519' : undefined);
      const verifier = await createVerifier({ publicKeyFile: file });
      await expect(verifier.verify(await sign(privateKey, alg))).resolves.toMatchObject({ userId: 'alice' });
      const other = await generateKeyPair(alg === 'ES256' ? 'RS256' : 'ES256');
      expect(
        await reasonOf(verifier, await sign(other.privateKey, alg === 'ES256' ? 'RS256' : 'ES256')),
      ).toBe('bad_alg');
    });
  }

  it('refuses an HS256 token, even one keyed with the public key text (alg confusion)', async () => {
    const { pem, file } = await keyFile('RS256');
    const verifier = await createVerifier({ publicKeyFile: file });
    const forged = await sign(new TextEncoder().encode(pem), 'HS256');
    expect(await reasonOf(verifier, forged)).toBe('bad_alg');
    expect(await reasonOf(verifier, await signToken(pem, { sub: 'alice', rooms: ['*'] }))).toBe('bad_alg');
  });

  it('refuses a token signed by another key of the right type', async () => {
    const { file } = await keyFile('RS256');
    const verifier = await createVerifier({ publicKeyFile: file });
    const stranger = await generateKeyPair('RS256');
    expect(await reasonOf(verifier, await sign(stranger.privateKey, 'RS256'))).toBe('bad_signature');
  });

  it('verifies synchronously: verifySync answers without any fetch', async () => {
    const { privateKey, file } = await keyFile('ES256');
    const verifier = await createVerifier({ publicKeyFile: file });
    expect(verifier.verifySync(await sign(privateKey, 'ES256'))).toMatchObject({ userId: 'alice' });
  });

  it('refuses an ES256 signature in DER form (JWS signatures are raw r || s)', async () => {
    const { privateKey, publicKey, file } = await keyFile('ES256');
    const verifier = await createVerifier({ publicKeyFile: file });
    const [h, p, s] = (await sign(privateKey, 'ES256')).split('.') as [string, string, string];
    const raw = Buffer.from(s, 'base64url');
    const der = derSignature(raw);
    const input = Buffer.from(`${h}.${p}`);
    const pub = KeyObject.from(publicKey as CryptoKey);
    // The same signature, re-encoded: valid as DER, and refused as a JWS.
    expect(cryptoVerify('sha256', input, { key: pub, dsaEncoding: 'der' }, der)).toBe(true);
    expect(await reasonOf(verifier, `${h}.${p}.${der.toString('base64url')}`)).toBe('bad_signature');
  });

  it('fails at start on an RSA key under 2048 bits', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const file = join(dir, 'rsa-1024.pem');
    await writeFile(file, small.export({ type: 'spki', format: 'pem' }));
    await expect(createVerifier({ publicKeyFile: file })).rejects.toThrow(
      /1024 bits; RS256 needs at least 2048/,
    );
  });

  it('fails at start on a missing file, garbage, or an unsupported curve', async () => {
    await expect(createVerifier({ publicKeyFile: join(dir, 'absent.pem') })).rejects.toThrow(/cannot read/);
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a key');
    await expect(createVerifier({ publicKeyFile: garbage })).rejects.toThrow(/cannot read a PEM public key/);
    const { file } = await keyFile('ES384');
    await expect(createVerifier({ publicKeyFile: file })).rejects.toThrow(/unsupported key type .*secp384r1/);
  });
});

describe('JWKS URL', () => {
  let server: Server;
  let url: string;
  let fetches = 0;
  const rsa = generateKeyPair('RS256', { extractable: true });
  const ec = generateKeyPair('ES256', { extractable: true });

  beforeAll(async () => {
    const keys = [
      { ...(await exportJWK((await rsa).publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK((await ec).publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => {
    server.close();
  });

  it('verifies tokens by kid and fetches the key set once for many tokens', async () => {
    const verifier = await createVerifier({ jwksUrl: url });
    const before = fetches;
    const first = await sign((await rsa).privateKey, 'RS256', 'rsa-1');
    expect(verifier.verifySync(first), 'not fetched yet: needs the async path').toBeUndefined();
    for (let i = 0; i < 5; i++) {
      await expect(
        verifier.verify(await sign((await rsa).privateKey, 'RS256', 'rsa-1')),
      ).resolves.toMatchObject({
        userId: 'alice',
      });
    }
    await expect(verifier.verify(await sign((await ec).privateKey, 'ES256', 'ec-1'))).resolves.toBeTruthy();
    expect(verifier.verifySync(first), 'the kid was fetched: verified without I/O').toMatchObject({
      userId: 'alice',
    });
    expect(verifier.verifySync(await sign((await ec).privateKey, 'ES256', 'ec-1'))).toBeTruthy();
    expect(fetches - before).toBe(1);
  });

  it('keeps a fetched key for its max age only, then fetches it through jose again', async () => {
    const keys = new JwksKeys(new URL(url), 60_000);
    const t0 = Date.now();
    const clock = vi.spyOn(Date, 'now');
    try {
      clock.mockReturnValue(t0);
      expect(keys.cached('RS256', 'rsa-1')).toBeUndefined();
      const k = await keys.fetch('RS256', 'rsa-1');
      expect(k.algorithms).toEqual(['RS256']);
      expect(keys.cached('RS256', 'rsa-1')).toBe(k);
      expect(keys.cached('ES256', 'rsa-1'), 'cached per alg and kid').toBeUndefined();
      clock.mockReturnValue(t0 + 60_001);
      expect(keys.cached('RS256', 'rsa-1')).toBeUndefined();
    } finally {
      clock.mockRestore();
    }
    await keys.fetch('RS256', 'rsa-1');
    expect(keys.cached('RS256', 'rsa-1')).toBeDefined();
  });

  it('does not cache keys of tokens without a kid (jose picks them by alg)', async () => {
    const verifier = await createVerifier({ jwksUrl: url });
    const token = await sign((await rsa).privateKey, 'RS256');
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'alice' });
    expect(verifier.verifySync(token)).toBeUndefined();
  });

  it('refuses a JWKS key of another type than the token alg (no_key)', async () => {
    const verifier = await createVerifier({ jwksUrl: url });
    // An ES256 token naming the RSA key: jose finds no key of that kid for ES256.
    expect(await reasonOf(verifier, await sign((await ec).privateKey, 'ES256', 'rsa-1'), 'cold')).toBe(
      'no_key',
    );
  });

  it('refuses an unknown kid (no_key), a forged signature and symmetric algorithms', async () => {
    const verifier = await createVerifier({ jwksUrl: url });
    expect(await reasonOf(verifier, await sign((await rsa).privateKey, 'RS256', 'nope'), 'cold')).toBe(
      'no_key',
    );
    const stranger = await generateKeyPair('RS256');
    expect(await reasonOf(verifier, await sign(stranger.privateKey, 'RS256', 'rsa-1'))).toBe('bad_signature');
    const hs = await sign(new TextEncoder().encode('x'.repeat(32)), 'HS256', 'rsa-1');
    expect(await reasonOf(verifier, hs)).toBe('bad_alg');
  });

  it('reports an unreachable key set as no_key', async () => {
    const dead = createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const port = (dead.address() as AddressInfo).port;
    dead.close();
    await once(dead, 'close');
    const verifier = await createVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks` });
    expect(await reasonOf(verifier, await sign((await rsa).privateKey, 'RS256', 'rsa-1'), 'cold')).toBe(
      'no_key',
    );
  });
});
