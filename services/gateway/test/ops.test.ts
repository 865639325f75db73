/** The ops feed: cluster heartbeats kept per instance, the gateway's own sample, admin-only HTTP. */
import { MemoryBroker } from '@parley/bus';
import { Subjects } from '@parley/protocol';
import { eventually, wsClient } from '@parley/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type OpsSnapshot, parseSample } from '../src/ops.ts';
import { startGateway, type TestGateway, token } from './harness.ts';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const get = async (g: TestGateway, auth?: string, query = '') =>
  fetch(`${g.http}/v1/ops/stats${query}`, auth ? { headers: { authorization: `Bearer ${auth}` } } : {});

describe('ops stats', () => {
  it('parseSample accepts heartbeats and rejects anything else', () => {
    expect(parseSample('{"service":"history","instance":"h1","ts":1,"kafkaLag":3}')).toMatchObject({
      kafkaLag: 3,
    });
    for (const bad of [
      'not json',
      '[]',
      '{"instance":"h1","ts":1}',
      '{"service":"h","instance":"","ts":1}',
      '{"service":"h","instance":"x","ts":"1"}',
      '{"service":"bad service","instance":"x","ts":1}',
      JSON.stringify({ service: 'h', instance: 'x', ts: 1, pad: 'x'.repeat(20_000) }),
    ])
      expect(parseSample(bad), bad.slice(0, 40)).toBeUndefined();
  });

  it('refuses without a token (401) and without admin scope (403)', async () => {
    gw = await startGateway({ broker: new MemoryBroker() });
    expect((await get(gw)).status).toBe(401);
    expect((await get(gw, 'garbage')).status).toBe(401);
    expect((await get(gw, await token('bob'))).status).toBe(403);
  });

  it('serves its own sample and other services heartbeats, with history', async () => {
    const broker = new MemoryBroker();
    gw = await startGateway({ broker });
    const admin = await token('ops', { scope: 'admin' });
    const client = await wsClient(gw.url, { token: await token('alice') });
    await client.request({ type: 'join', room: 'lobby' });
    await client.request({ type: 'publish', room: 'lobby', body: 'hi', clientMsgId: 'c1' });

    const other = broker.connect();
    const now = Date.now();
    other.publish(
      Subjects.opsStats,
      JSON.stringify({ service: 'history', instance: 'h1', ts: now - 1, kafkaLag: 7 }),
    );
    other.publish(
      Subjects.opsStats,
      JSON.stringify({ service: 'history', instance: 'h1', ts: now, kafkaLag: 5 }),
    );
    other.publish(Subjects.opsStats, 'garbage');
    await other.flush();
    await gw.gateway.ops.tick();

    const snap = await eventually(async () => {
      const res = await get(gw as TestGateway, admin);
      expect(res.status).toBe(200);
      const s = (await res.json()) as OpsSnapshot;
      expect(s.instances.map((i) => i.service).sort()).toEqual(['gateway', 'history']);
      return s;
    });
    expect(snap.self).toBe(gw.gateway.id);
    const history = snap.instances.find((i) => i.service === 'history');
    expect(history?.last.kafkaLag).toBe(5);
    expect(history?.history.map((s) => s.kafkaLag)).toEqual([7, 5]);
    const mine = snap.instances.find((i) => i.service === 'gateway');
    expect(mine?.instance).toBe(gw.gateway.id);
    expect(mine?.last).toMatchObject({ connections: 1, rooms: 1, topRooms: [{ room: 'lobby', members: 1 }] });
    expect(mine?.last.rssBytes).toBeGreaterThan(1_000_000);
    expect(typeof mine?.last.eventLoopLagP99Ms).toBe('number');

    // `since` returns only newer samples (the page polls incrementally).
    const inc = (await (await get(gw, admin, `?since=${now - 1}`)).json()) as OpsSnapshot;
    expect(inc.instances.find((i) => i.service === 'history')?.history.map((s) => s.kafkaLag)).toEqual([5]);
    await client.close();
    await other.close();
  });

  it('reports rates from counter deltas between samples', async () => {
    gw = await startGateway({ broker: new MemoryBroker() });
    await gw.gateway.ops.tick();
    const client = await wsClient(gw.url, { token: await token('carol') });
    await client.request({ type: 'join', room: 'r1' });
    for (let i = 0; i < 5; i++)
      await client.request({ type: 'publish', room: 'r1', body: `m${i}`, clientMsgId: `c${i}` });
    client.send('not json');
    await client.waitFor((f) => f.type === 'error');
    const s = await gw.gateway.ops.tick();
    expect(s?.publishesPerSec).toBeGreaterThan(0);
    expect(s?.deliveriesPerSec).toBeGreaterThan(0);
    expect((s?.errorsPerSec as Record<string, number> | undefined)?.bad_request).toBeGreaterThan(0);
    await client.close();
  });
});
