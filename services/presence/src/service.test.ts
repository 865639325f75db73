import { createVerifier, DEV_SECRET, signToken } from '@parley/auth';
import { type Bus, MemoryBroker } from '@parley/bus';
import { createTestLogger } from '@parley/log';
import { openEphEnvelope, Subjects } from '@parley/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { SimGateway } from '../test/sim-gateway.ts';
import { loadPresenceConfig } from './config.ts';
import { PresenceService } from './service.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HB = 200;

interface Rig {
  broker: MemoryBroker;
  events: string[];
  gateways: SimGateway[];
  services: PresenceService[];
}
let rig: Rig;

afterEach(async () => {
  for (const g of rig.gateways) g.kill();
  for (const s of rig.services) await s.drain();
});

/** A broker plus a listener recording every presence event as `<subject> <frame>`. */
function setup(): Rig {
  const broker = new MemoryBroker();
  const events: string[] = [];
  const tap = broker.connect();
  tap.subscribe('chat.eph.>', (m) => events.push(`${m.subject} ${openEphEnvelope(m.string()).frame}`));
  tap.subscribe('presence.user.>', (m) => events.push(`${m.subject} ${m.string()}`));
  rig = { broker, events, gateways: [], services: [] };
  return rig;
}

async function presence(env: Record<string, string> = {}, clock?: () => number): Promise<PresenceService> {
  const cfg = loadPresenceConfig({
    PRESENCE_PORT: '0',
    PRESENCE_HOST: '127.0.0.1',
    PRESENCE_REBUILD_WINDOW: '300ms',
    PRESENCE_INSTANCE_HEARTBEAT: '100ms',
    PRESENCE_SNAPSHOT_TIMEOUT: '500ms',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const s = new PresenceService({
    cfg,
    bus: rig.broker.connect(),
    verifier: await createVerifier({ secret: DEV_SECRET }),
    log: createTestLogger().logger,
    ...(clock ? { clock } : {}),
  });
  rig.services.push(s);
  await s.start();
  return s;
}

function gateway(id: string, bus: Bus = rig.broker.connect()): SimGateway {
  const g = new SimGateway(bus, id, HB).start();
  rig.gateways.push(g);
  return g;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('PresenceService', () => {
  it('rebuilds from gateway snapshots without emitting anything, then emits live changes', async () => {
    const { events } = setup();
    const g = gateway('g1');
    g.connect('ann', ['r1', 'r2']);
    g.connect('bo', ['r1'], 'away');
    await sleep(10);
    const s = await presence();
    await until(() => s.ready && s.isLeader);
    expect(s.tracker.room('r1', 10).count).toBe(2);
    expect(s.tracker.status('bo')).toBe('away');
    expect(events).toEqual([]);
    g.connect('cy', ['r2']);
    await until(() => events.length === 2);
    expect(events).toEqual([
      'presence.user.cy {"type":"presence.user","userId":"cy","status":"online"}',
      'chat.eph.r2 {"type":"presence.join","room":"r2","userId":"cy"}',
    ]);
  });

  it('expires a dead gateway after 3 intervals (fake clock): leaves only for users without another connection', async () => {
    const { events } = setup();
    let now = 1_000_000;
    const s = await presence({}, () => now);
    const g1 = gateway('g1');
    const g2 = gateway('g2');
    g1.connect('ann', ['r']);
    g1.connect('bo', ['r']);
    g2.connect('bo', ['r']);
    now += 400;
    await until(() => s.ready && s.isLeader && s.tracker.stats.connections === 3);
    events.length = 0;
    g1.kill();
    now += 3 * HB - 50;
    await sleep(250);
    expect(s.tracker.stats.connections).toBe(3);
    now += 100;
    await until(() => events.length === 2);
    expect(events.sort()).toEqual([
      'chat.eph.r {"type":"presence.leave","room":"r","userId":"ann"}',
      'presence.user.ann {"type":"presence.user","userId":"ann","status":"offline"}',
    ]);
    expect(s.tracker.status('bo')).toBe('online');
  });

  it('resynchronises a gateway whose batch was lost, emitting only the real difference', async () => {
    const { events } = setup();
    const s = await presence();
    const g = gateway('g1');
    g.connect('ann', ['r']);
    await until(() => s.ready && s.isLeader && s.tracker.stats.connections === 1);
    events.length = 0;
    g.connect('bo', ['r']);
    g.losePending();
    await until(() => s.tracker.stats.connections === 2, 2000);
    expect(events.sort()).toEqual([
      'chat.eph.r {"type":"presence.join","room":"r","userId":"bo"}',
      'presence.user.bo {"type":"presence.user","userId":"bo","status":"online"}',
    ]);
    const text = await s.metrics.registry.getSingleMetricAsString('parley_presence_resyncs_total');
    expect(text).toMatch(/parley_presence_resyncs_total\{[^}]*\} [1-9]/);
  });

  it('two instances: one leader, each change emitted once, queries agree', async () => {
    const { events } = setup();
    const a = await presence();
    const b = await presence();
    const g = gateway('g1');
    await until(() => a.ready && b.ready && (a.isLeader || b.isLeader));
    await sleep(300);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    g.connect('ann', ['r']);
    await until(() => events.length >= 2);
    await sleep(100);
    expect(events).toHaveLength(2);
    expect(a.tracker.room('r', 10)).toEqual(b.tracker.room('r', 10));
    // the leader drains: the other takes over at once and emits the next change (once)
    const [leader, other] = a.isLeader ? [a, b] : [b, a];
    await leader.drain();
    rig.services = rig.services.filter((s) => s !== leader);
    await until(() => other.isLeader, 1000);
    g.connect('bo', ['r']);
    await until(() => events.length >= 4);
    await sleep(100);
    expect(events).toHaveLength(4);
  });

  it('counts and logs malformed input and keeps working', async () => {
    const { events, broker } = setup();
    const s = await presence();
    const bus = broker.connect();
    await until(() => s.ready && s.isLeader);
    bus.publish(Subjects.presenceDelta, 'not json');
    bus.publish(Subjects.presenceDelta, '{"gw":"g9","deltas":"nope"}');
    bus.publish(Subjects.presenceHeartbeat, '{"gw":"g9","conns":-1}');
    bus.publish(
      Subjects.presenceDelta,
      JSON.stringify({
        gw: 'g9',
        seq: 1,
        deltas: [
          { k: 'connect', conn: 'c1', user: 'ann', status: 'online' },
          { k: 'connect', conn: 'c2', user: 'bo', status: 'sleepy' },
          { k: 'join', conn: 'c1', room: 'bad room!' },
          { k: 'teleport', conn: 'c1' },
          null,
          { k: 'join', conn: 'c1', room: 'ok' },
        ],
      }),
    );
    await until(() => events.length === 2);
    const text = await s.metrics.registry.getSingleMetricAsString('parley_presence_malformed_total');
    const count = (kind: string) => Number(new RegExp(`kind="${kind}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect([count('batch'), count('heartbeat'), count('delta')]).toEqual([2, 1, 4]);
    expect(s.tracker.user('ann').rooms).toEqual(['ok']);
  });

  it('coalesces large rooms: no per-user events above the threshold, watchers still told', async () => {
    const { events } = setup();
    const s = await presence({ PRESENCE_LARGE_ROOM: '2' });
    const g = gateway('g1');
    await until(() => s.ready && s.isLeader);
    for (const u of ['a', 'b', 'c']) g.connect(u, ['big']);
    await until(() => events.length === 5);
    await sleep(50);
    expect(events.filter((e) => e.startsWith('chat.eph.big'))).toEqual([
      'chat.eph.big {"type":"presence.join","room":"big","userId":"a"}',
      'chat.eph.big {"type":"presence.join","room":"big","userId":"b"}',
    ]);
    expect(events.filter((e) => e.startsWith('presence.user.'))).toHaveLength(3);
    expect(s.tracker.room('big', 10).count).toBe(3);
  });

  it('serves the admin HTTP API with 401/403/400 and JSON errors', async () => {
    setup();
    const s = await presence();
    const g = gateway('g1');
    g.connect('ann', ['r1']);
    await until(() => s.ready && s.tracker.stats.connections === 1);
    const admin = await signToken(DEV_SECRET, { sub: 'ops', scope: 'admin' });
    const user = await signToken(DEV_SECRET, { sub: 'ann' });
    const get = async (path: string, token?: string) => {
      const res = await fetch(`http://127.0.0.1:${s.port}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return [res.status, await res.json()] as const;
    };
    expect(await get('/v1/rooms/r1/presence', admin)).toEqual([
      200,
      { room: 'r1', users: [{ userId: 'ann', status: 'online' }], count: 1 },
    ]);
    expect(await get('/v1/users/ann/presence', admin)).toEqual([
      200,
      { userId: 'ann', status: 'online', connections: 1, rooms: ['r1'] },
    ]);
    expect((await get('/v1/rooms/r1/presence'))[0]).toBe(401);
    expect(await get('/v1/rooms/r1/presence', user)).toEqual([
      403,
      { error: 'authorization: admin scope required' },
    ]);
    expect(await get('/v1/rooms/bad%20room/presence', admin)).toEqual([
      400,
      { error: 'room: not a valid room id' },
    ]);
    expect(await get('/v1/users/%E0%A4/presence', admin)).toEqual([
      400,
      { error: 'user: not a valid user id' },
    ]);
    expect((await get('/nope'))[0]).toBe(404);
    expect((await get('/readyz'))[0]).toBe(200);
  });

  it('answers queries over the bus once ready, and refuses bad requests', async () => {
    const { broker } = setup();
    const s = await presence();
    const g = gateway('g1');
    g.connect('ann', ['r1']);
    await until(() => s.ready && s.tracker.stats.connections === 1);
    const bus = broker.connect();
    const ask = async (req: unknown) =>
      JSON.parse(
        (await bus.request(Subjects.presenceQuery, JSON.stringify(req), { timeoutMs: 500 })).string(),
      );
    expect(await ask({ op: 'users', users: ['ann', 'zed'] })).toEqual({
      ok: true,
      result: { statuses: { ann: 'online', zed: 'offline' } },
    });
    expect(await ask({ op: 'room', room: 1 })).toEqual({
      ok: false,
      code: 'bad_request',
      message: 'room: not a valid room id',
    });
  });
});
