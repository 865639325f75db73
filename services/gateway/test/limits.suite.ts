/**
 * Limits and close codes: rate limits, rooms per connection, connections per user, frame size
 * (1009), token expiry (4003), refresh, sustained abuse (4008), Origin allowlist, admin disconnect.
 * Runs on the memory bus (unit) and on real NATS (int).
 */
import { DEV_SECRET, signToken } from '@parley/auth';
import { eventually, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TestGateway } from './harness.ts';
import { token } from './harness.ts';

/** Small limits so each one is reached quickly. */
export const LIMITS_ENV = {
  LIMIT_PUBLISH_PER_SECOND: '2',
  LIMIT_PUBLISH_BURST: '3',
  LIMIT_ROOMS_PER_CONNECTION: '3',
  LIMIT_CONNECTIONS_PER_USER: '2',
  LIMIT_FRAME_BYTES: '4096',
  ABUSE_STRIKES: '8',
  ALLOWED_ORIGINS: 'https://good.example',
};

const rid = () => `l${Math.random().toString(36).slice(2, 10)}`;

export function limitsSuite(
  name: string,
  start: (env: Record<string, string>) => Promise<TestGateway>,
): void {
  describe(`gateway limits and close codes (${name})`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await start(LIMITS_ENV);
    });
    afterAll(async () => {
      await gw?.stop();
    });

    it('rate-limits publishes past the burst with rate_limited', async () => {
      const c = await wsClient(gw.url, { token: await token(rid()) });
      const room = rid();
      await c.request({ type: 'join', room });
      const replies = await Promise.all(
        [0, 1, 2, 3, 4].map((i) => c.request({ type: 'publish', room, body: 'x', clientMsgId: `m${i}` })),
      );
      expect(replies.filter((r) => r.type === 'ack').length).toBe(3);
      expect(replies.filter((r) => r.type === 'error' && r.code === 'rate_limited').length).toBe(2);
      await c.close();
    });

    it('caps rooms per connection', async () => {
      const c = await wsClient(gw.url, { token: await token(rid()) });
      for (let i = 0; i < 3; i++)
        expect((await c.request({ type: 'join', room: rid() })).type).toBe('joined');
      expect(await c.request({ type: 'join', room: rid() })).toMatchObject({
        type: 'error',
        code: 'forbidden',
      });
      await c.close();
    });

    it('caps connections per user with 4008', async () => {
      const user = rid();
      const t = await token(user);
      const a = await wsClient(gw.url, { token: t });
      const b = await wsClient(gw.url, { token: t });
      await expect(wsClient(gw.url, { token: t })).rejects.toMatchObject({ code: 4008 });
      await Promise.all([a.close(), b.close()]);
    });

    it('closes with 1009 when a frame is over the frame limit', async () => {
      const c = await wsClient(gw.url, { token: await token(rid()) });
      c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }));
      expect((await c.closed).code).toBe(1009);
    });

    it('closes with 4003 when the token expires without a refresh', async () => {
      const c = await wsClient(gw.url, { token: await token(rid(), {}, 1) });
      const closed = await c.closed;
      expect(closed.code).toBe(4003);
    }, 15_000);

    it('refresh extends the connection; a token for another user closes with 4001', async () => {
      const user = rid();
      const c = await wsClient(gw.url, { token: await token(user, {}, 2) });
      expect(await c.request({ type: 'refresh', token: await token(user, {}, 3600) })).toMatchObject({
        type: 'ok',
      });
      await new Promise((r) => setTimeout(r, 3500));
      expect((await c.request({ type: 'ping' })).type).toBe('pong');
      const other = await c.request({ type: 'refresh', token: await token('someone-else') });
      expect(other).toMatchObject({ type: 'error', code: 'forbidden' });
      expect((await c.closed).code).toBe(4001);
    }, 15_000);

    it('closes sustained abuse with 4008', async () => {
      const c = await wsClient(gw.url, { token: await token(rid()) });
      for (let i = 0; i < 20; i++) c.send('not json');
      expect((await c.closed).code).toBe(4008);
    });

    it('refuses an Origin outside ALLOWED_ORIGINS and accepts a listed one', async () => {
      const t = await token(rid());
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${gw.url}?token=${t}`, { headers: { origin: 'https://evil.example' } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      expect(refused).toBe(403);
      const ok = await wsClient(gw.url, { token: t, headers: { origin: 'https://good.example' } });
      await ok.close();
    });

    it('admin disconnect closes every connection of the user with 4001', async () => {
      const user = rid();
      const a = await wsClient(gw.url, { token: await token(user) });
      const b = await wsClient(gw.url, { token: await token(user) });
      const bystander = await wsClient(gw.url, { token: await token(rid()) });
      const admin = await signToken(DEV_SECRET, { sub: 'ops', scope: 'admin' }, { ttlSec: 60 });
      const noScope = await signToken(DEV_SECRET, { sub: 'ops' }, { ttlSec: 60 });
      const post = (auth?: string) =>
        fetch(`${gw.http}/v1/users/${encodeURIComponent(user)}/disconnect`, {
          method: 'POST',
          headers: auth ? { authorization: `Bearer ${auth}` } : {},
        });
      expect((await post()).status).toBe(401);
      expect((await post(noScope)).status).toBe(403);
      expect((await post(admin)).status).toBe(202);
      expect((await a.closed).code).toBe(4001);
      expect((await b.closed).code).toBe(4001);
      expect((await bystander.request({ type: 'ping' })).type).toBe('pong');
      await bystander.close();
    });

    it('serves healthz, readyz and metrics', async () => {
      expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);
      const ready = await fetch(`${gw.http}/readyz`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`${gw.http}/metrics`)).text();
      expect(metrics).toContain('parley_gateway_connections');
      expect(metrics).toMatch(/parley_gateway_frames_out_total\{[^}]*\} [1-9]/);
      await eventually(async () => {
        const m = await (await fetch(`${gw.http}/metrics`)).text();
        expect(m).toMatch(/parley_gateway_rate_limited_total\{[^}]*kind="publish"[^}]*\} [1-9]/);
      });
    });
  });
}
