/**
 * Gateways configured with a PEM public key (AUTH_PUBLIC_KEY_FILE) or a JWKS URL (AUTH_JWKS_URL),
 * as child processes so their stderr can be read: tokens verify synchronously inside uWS's upgrade
 * callback, so uWS never prints its uncorked-upgrade warning, except for the one connection that
 * made a JWKS gateway fetch the key of a kid it had not seen (that upgrade comes from an async
 * continuation). Refused tokens (alg confusion, another signer) still close with 4001.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloseCodes } from '@parley/protocol';
import { expectClose, wsClient } from '@parley/testkit';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type ChildGateway, spawnGateway } from './child-gateway.ts';

const UNCORKED = 'writes must be made from within a corked callback';
const CONNECTIONS = 5;

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'] | Uint8Array;

function sign(
  key: SigningKey,
  header: { alg: string; kid?: string },
  claims: JWTPayload = {},
): Promise<string> {
  return new SignJWT({ sub: 'alice', rooms: ['*'], ...claims })
    .setProtectedHeader(header)
    .setExpirationTime('10m')
    .sign(key);
}

let dir: string;
let jwks: Server;
const gateways: ChildGateway[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-asym-'));
});
afterAll(async () => {
  for (const g of gateways) await g.stop();
  jwks?.close();
  await rm(dir, { recursive: true, force: true });
});

async function warnings(gw: ChildGateway): Promise<number> {
  return (await readFile(gw.logFile, 'utf8')).split(UNCORKED).length - 1;
}

/** Opens and closes `n` connections one after the other; each must get its welcome. */
async function connectAll(gw: ChildGateway, token: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = await wsClient(gw.url, { token });
    expect(c.welcome.userId).toBe('alice');
    await c.close();
  }
}

it('PEM key: every connection verifies in the upgrade callback, no uWS warning', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const file = join(dir, 'es256.pem');
  await writeFile(file, await exportSPKI(publicKey));
  const gw = await spawnGateway(inject('natsUrl'), { AUTH_PUBLIC_KEY_FILE: file });
  gateways.push(gw);
  await connectAll(gw, await sign(privateKey, { alg: 'ES256' }), CONNECTIONS);

  const stranger = await generateKeyPair('ES256');
  const refused = await expectClose(gw.url, { token: await sign(stranger.privateKey, { alg: 'ES256' }) });
  expect(refused).toEqual({ code: CloseCodes.unauthorized.code, reason: 'token signature invalid' });
  const confused = await sign(new TextEncoder().encode(await exportSPKI(publicKey)), { alg: 'HS256' });
  expect((await expectClose(gw.url, { token: confused })).code).toBe(CloseCodes.unauthorized.code);
  expect(await warnings(gw)).toBe(0);
});

it('JWKS: only the connection that fetched a new kid upgrades asynchronously (one warning)', async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const keys = [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
  let fetches = 0;
  jwks = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  jwks.listen(0, '127.0.0.1');
  await once(jwks, 'listening');
  const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  const gw = await spawnGateway(inject('natsUrl'), { AUTH_JWKS_URL: url });
  gateways.push(gw);

  await connectAll(gw, await sign(privateKey, { alg: 'RS256', kid: 'k1' }), CONNECTIONS);
  expect(fetches).toBe(1);
  // The detector works: the first connection's upgrade came from the fetch's continuation.
  expect(await warnings(gw)).toBe(1);
  const stranger = await generateKeyPair('RS256');
  const forged = await sign(stranger.privateKey, { alg: 'RS256', kid: 'k1' });
  expect((await expectClose(gw.url, { token: forged })).reason).toBe('token signature invalid');
  expect(await warnings(gw), 'a refusal with a cached kid is synchronous too').toBe(1);
});
