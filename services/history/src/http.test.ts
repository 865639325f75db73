import { signToken } from '@parley/auth';
import { eventually } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import { adminToken, appendChat, startMemoryHistory, userToken } from './testing.ts';

async function get(port: number, path: string, token?: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

describe('history HTTP API', () => {
  it('serves a page of a room, ascending, with more', async () => {
    await using h = await startMemoryHistory();
    for (let i = 1; i <= 12; i++) await appendChat(h.bus, 'dm#alice,bob', i);
    await eventually(async () => expect(await h.stores.messages.lastSeq('dm#alice,bob')).toBe(12));
    const admin = await adminToken();
    const r = await get(h.service.port, '/v1/rooms/dm%23alice%2Cbob/messages?before=11&limit=4', admin);
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body.room).toBe('dm#alice,bob');
    expect(body.messages.map((m: { seq: number }) => m.seq)).toEqual([7, 8, 9, 10]);
    expect(body.more).toBe(true);
    const all = (await get(h.service.port, '/v1/rooms/dm%23alice%2Cbob/messages', admin)).json();
    expect(all.messages).toHaveLength(12);
    expect(all.more).toBe(false);
  });

  it('refuses bad requests with 400/401/403/404 and a JSON error naming the problem', async () => {
    await using h = await startMemoryHistory();
    const port = h.service.port;
    const admin = await adminToken();
    const expired = await signToken(
      'parley-dev-secret-change-me-0123456789abcdef',
      { sub: 'a', scope: 'admin' },
      { ttlSec: -60 },
    );
    const cases: [string, string | undefined, number, string][] = [
      ['/v1/rooms/r/messages', undefined, 401, 'authorization: no token'],
      ['/v1/rooms/r/messages', 'garbage', 401, 'authorization: token malformed'],
      ['/v1/rooms/r/messages', expired, 401, 'authorization: token expired'],
      ['/v1/rooms/r/messages', await userToken(), 403, 'authorization: admin scope required'],
      ['/v1/rooms/bad%20room/messages', admin, 400, 'room: bad room id'],
      ['/v1/rooms/%E0%A4%A/messages', admin, 400, 'room: bad percent-encoding'],
      ['/v1/rooms/r/messages?limit=-1', admin, 400, 'limit: must be an integer between 1 and 1000'],
      ['/v1/rooms/r/messages?limit=100000', admin, 400, 'limit: must be an integer between 1 and 1000'],
      ['/v1/rooms/r/messages?limit=abc', admin, 400, 'limit: must be an integer'],
      ['/v1/rooms/r/messages?before=abc', admin, 400, 'before: must be an integer'],
      ['/v1/rooms/r/messages?before=0', admin, 400, 'before: must be an integer'],
      ['/v1/rooms/r/other', admin, 404, 'path: /v1/rooms/r/other not found'],
    ];
    for (const [path, token, status, error] of cases) {
      const r = await get(port, path, token);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect(r.json().error).toContain(error);
    }
  });

  it('serves health, readiness and metrics', async () => {
    await using h = await startMemoryHistory();
    const port = h.service.port;
    expect((await get(port, '/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json().status).toBe('ready');
    const metrics = await get(port, '/metrics');
    expect(metrics.text).toContain('parley_history_persist_lag_ms_bucket');
    expect(metrics.text).toContain('service="history"');
  });
});
