import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthFailure, createVerifier, isAuthError, signToken, type Verifier } from './index.ts';

const now = () => Math.floor(Date.now() / 1000);
const claims: JWTPayload = { sub: 'alice', rooms: ['lobby'] };

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

function sign(key: SigningKey | Uint8Array, alg: string, kid?: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader(kid ? { alg, kid } : { alg })
    .setExpirationTime(now() + 60)
    .sign(key);
}

async function reasonOf(verifier: Verifier, token: string): Promise<AuthFailure> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAuthError(err)) throw new Error(`expected an AuthError, got ${String(err)}`);
  return err.reason;
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
    for (let i = 0; i < 5; i++) {
      await expect(
        verifier.verify(await sign((await rsa).privateKey, 'RS256', 'rsa-1')),
      ).resolves.toMatchObject({
        userId: 'alice',
      });
    }
    await expect(verifier.verify(await sign((await ec).privateKey, 'ES256', 'ec-1'))).resolves.toBeTruthy();
    expect(fetches - before).toBe(1);
  });

  it('refuses an unknown kid (no_key), a forged signature and symmetric algorithms', async () => {
    const verifier = await createVerifier({ jwksUrl: url });
    expect(await reasonOf(verifier, await sign((await rsa).privateKey, 'RS256', 'nope'))).toBe('no_key');
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
    expect(await reasonOf(verifier, await sign((await rsa).privateKey, 'RS256', 'rsa-1'))).toBe('no_key');
  });
});
