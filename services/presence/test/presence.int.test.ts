/**
 * Presence on real NATS with real gateways (issue 5, "must show"). The file starts its own
 * nats-server: presence subjects are cluster-wide, so sharing a server with other tests would mix
 * their gateways into these counts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEV_SECRET, signToken } from '@parley/auth';
import type { Bus } from '@parley/bus';
import { Gateway, loadGatewayConfig } from '@parley/gateway';
import { createLogger } from '@parley/log';
import { Subjects } from '@parley/protocol';
import { connectBus, verifierFrom } from '@parley/runtime';
import { eventually, freePort, type ServerHandle, startNats } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadPresenceConfig, PresenceService } from '../src/index.ts';

const HB_MS = 1000;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const log = createLogger({ service: 'test', level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nats: ServerHandle;
const buses: Bus[] = [];
const gateways: Gateway[] = [];
const sockets: WebSocket[] = [];
let presenceA: PresenceService;

async function bus(name: string): Promise<Bus> {
  const b = await connectBus(loadPresenceConfig({ NATS_URL: nats.url }), name, log);
  buses.push(b);
  return b;
}

async function startGateway(id: string): Promise<Gateway> {
  const env = {
    NATS_URL: nats.url,
    GATEWAY_PORT: '0',
    INSTANCE_ID: id,
    PRESENCE_HEARTBEAT: `${HB_MS}ms`,
    LOG_LEVEL: 'silent',
  };
  const cfg = loadGatewayConfig(env);
  const gw = new Gateway({ cfg, bus: await bus(id), verifier: await verifierFrom(cfg), log });
  await gw.start();
  gateways.push(gw);
  return gw;
}

async function startPresence(id: string): Promise<PresenceService> {
  const cfg = loadPresenceConfig({
    NATS_URL: nats.url,
    PRESENCE_PORT: '0',
    PRESENCE_HOST: '127.0.0.1',
    INSTANCE_ID: id,
    PRESENCE_REBUILD_WINDOW: '1500ms',
    PRESENCE_INSTANCE_HEARTBEAT: '300ms',
    LOG_LEVEL: 'silent',
  });
  const p = new PresenceService({ cfg, bus: await bus(id), verifier: await verifierFrom(cfg), log });
  await p.start();
  return p;
}

/** A client socket; `frames` collects every presence frame it receives. */
interface Client {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  send(frame: object): void;
}

async function client(port: number, user: string, rooms: string[]): Promise<Client> {
  const token = await signToken(DEV_SECRET, { sub: user, rooms: ['*'] });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
  sockets.push(ws);
  const frames: Record<string, unknown>[] = [];
  const joined = new Set<string>();
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as Record<string, unknown>;
    if (f.type === 'joined') joined.add(f.room as string);
    if (typeof f.type === 'string' && f.type.startsWith('presence')) frames.push(f);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const c = { ws, frames, send: (f: object) => ws.send(JSON.stringify(f)) };
  for (const room of rooms) c.send({ type: 'join', room });
  await eventually(() => expect(joined.size).toBe(rooms.length));
  return c;
}

const close = (c: Client) =>
  new Promise((resolve) => {
    c.ws.once('close', resolve);
    c.ws.close();
  });
const leavesOf = (c: Client, user: string) =>
  c.frames.filter((f) => f.type === 'presence.leave' && f.userId === user);

beforeAll(async () => {
  nats = await startNats({ own: true });
  await startGateway('gwa');
  await startGateway('gwb');
  presenceA = await startPresence('pa');
  await eventually(() => expect(presenceA.ready && presenceA.isLeader).toBe(true));
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  for (const g of gateways) await g.stop();
  await presenceA?.drain();
  for (const b of buses) await b.close().catch(() => {});
  await nats?.[Symbol.asyncDispose]();
});

describe('presence on real NATS with real gateways', () => {
  it('multi-device across two gateways: one device closing keeps the user; the last emits one leave per room', async () => {
    const [ga, gb] = gateways as [Gateway, Gateway];
    const observer = await client(ga.listeningPort, 'obs', ['md1', 'md2']);
    const phone = await client(ga.listeningPort, 'ann', ['md1', 'md2']);
    const laptop = await client(gb.listeningPort, 'ann', ['md1', 'md2']);
    await eventually(() =>
      expect(observer.frames.filter((f) => f.type === 'presence.join' && f.userId === 'ann')).toHaveLength(2),
    );
    await close(phone);
    await sleep(700);
    expect(leavesOf(observer, 'ann')).toEqual([]);
    expect(presenceA.tracker.user('ann')).toMatchObject({ status: 'online', connections: 1 });
    await close(laptop);
    await eventually(() => expect(leavesOf(observer, 'ann')).toHaveLength(2));
    await sleep(700);
    expect(
      leavesOf(observer, 'ann')
        .map((f) => f.room)
        .sort(),
    ).toEqual(['md1', 'md2']);
    expect(presenceA.tracker.status('ann')).toBe('offline');
    await close(observer);
  });

  it('kill -9 of a gateway with 1,000 connections: leaves within 3 intervals + 1 s, only for users without another connection', async () => {
    const [ga] = gateways as [Gateway, Gateway];
    const port = await freePort();
    const child = spawnGateway(port, 'gwkill');
    try {
      await eventually(
        async () => expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200),
        { timeoutMs: 20_000 },
      );
      const rooms = Array.from({ length: 10 }, (_, i) => `k${i}`);
      const observer = await client(ga.listeningPort, 'watcher', rooms);
      const onKilled = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => client(port, `k${i}`, [`k${i % 10}`])),
      );
      const elsewhere = await Promise.all(
        Array.from({ length: 100 }, (_, i) => client(ga.listeningPort, `k${i}`, [`k${i % 10}`])),
      );
      await eventually(() => expect(presenceA.tracker.stats.connections).toBeGreaterThanOrEqual(1101), {
        timeoutMs: 10_000,
      });
      observer.frames.length = 0;
      const t0 = Date.now();
      child.kill('SIGKILL');
      await eventually(
        () => expect(observer.frames.filter((f) => f.type === 'presence.leave')).toHaveLength(900),
        {
          timeoutMs: 3 * HB_MS + 1000 + 1000,
        },
      );
      const elapsed = Date.now() - t0;
      console.log(
        `kill -9 of 1,000 connections: 900 leaves after ${elapsed} ms (budget ${3 * HB_MS + 1000} ms)`,
      );
      expect(elapsed).toBeLessThanOrEqual(3 * HB_MS + 1000);
      await sleep(500);
      const left = new Set(observer.frames.filter((f) => f.type === 'presence.leave').map((f) => f.userId));
      expect(left.size).toBe(900);
      for (let i = 0; i < 100; i++) expect(left.has(`k${i}`)).toBe(false);
      expect(presenceA.tracker.status('k5')).toBe('online');
      expect(presenceA.tracker.status('k500')).toBe('offline');
      for (const c of [...elsewhere, observer, ...onKilled]) c.ws.terminate();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('restart of the presence service: no spurious events, same state within a few seconds', async () => {
    const [ga, gb] = gateways as [Gateway, Gateway];
    const observer = await client(ga.listeningPort, 'obs2', ['rs']);
    const users = await Promise.all(
      ['p1', 'p2', 'p3'].map((u, i) => client(i % 2 ? gb.listeningPort : ga.listeningPort, u, ['rs'])),
    );
    users[1]!.send({ type: 'status', status: 'away' });
    await eventually(() => expect(presenceA.tracker.room('rs', 100).count).toBe(4));
    await eventually(() => expect(presenceA.tracker.status('p2')).toBe('away'));
    const before = presenceA.tracker.room('rs', 100);
    observer.frames.length = 0;
    await presenceA.drain();
    const t0 = Date.now();
    presenceA = await startPresence('pa2');
    await eventually(() => expect(presenceA.ready && presenceA.isLeader).toBe(true), { timeoutMs: 10_000 });
    console.log(`presence restart: ready and leading after ${Date.now() - t0} ms`);
    const sort = (r: typeof before) => ({
      ...r,
      users: [...r.users].sort((a, b) => a.userId.localeCompare(b.userId)),
    });
    expect(sort(presenceA.tracker.room('rs', 100))).toEqual(sort(before));
    await sleep(500);
    expect(observer.frames).toEqual([]);
    for (const c of [observer, ...users]) await close(c);
  });

  it('two presence instances: each change produces one event, and queries agree', async () => {
    const [ga, gb] = gateways as [Gateway, Gateway];
    const b = await startPresence('pb');
    try {
      await eventually(() => expect(b.ready).toBe(true), { timeoutMs: 10_000 });
      await sleep(1000);
      expect([presenceA.isLeader, b.isLeader]).toEqual([true, false]);
      const observer = await client(ga.listeningPort, 'obs3', ['two']);
      const cy = await client(gb.listeningPort, 'cy', ['two']);
      cy.send({ type: 'status', status: 'dnd' });
      await close(cy);
      await eventually(() => expect(observer.frames.map((f) => f.type)).toContain('presence.leave'));
      await sleep(700);
      expect(observer.frames.filter((f) => f.userId === 'cy').map((f) => f.type)).toEqual([
        'presence.join',
        'presence.update',
        'presence.leave',
      ]);
      expect(b.tracker.room('two', 10)).toEqual(presenceA.tracker.room('two', 10));
      const query = await (await bus('q')).request(
        Subjects.presenceQuery,
        JSON.stringify({ op: 'room', room: 'two' }),
        {
          timeoutMs: 2000,
        },
      );
      expect(JSON.parse(query.string())).toEqual({ ok: true, result: presenceA.tracker.room('two', 10) });
      await close(observer);
    } finally {
      await b.drain();
    }
  });

  it('malformed deltas from a buggy gateway are counted and do not stop the service', async () => {
    const raw = await bus('buggy');
    const metric = async () =>
      Number(
        /kind="delta"[^}]*\} (\d+)/.exec(
          await presenceA.metrics.registry.getSingleMetricAsString('parley_presence_malformed_total'),
        )?.[1] ?? 0,
      );
    const before = await metric();
    raw.publish(
      Subjects.presenceDelta,
      '{"gw":"buggy","seq":1,"deltas":[{"k":"join"},{"k":"connect","conn":"x","user":"","status":"?"}]}',
    );
    raw.publish(Subjects.presenceDelta, '\u0000garbage');
    await eventually(async () => expect(await metric()).toBe(before + 2));
    const res = await fetch(`http://127.0.0.1:${presenceA.port}/readyz`);
    expect(res.status).toBe(200);
  });
});

function spawnGateway(port: number, id: string): ChildProcess {
  // node itself with tsx as a loader (not the tsx CLI, which forks): SIGKILL must hit the gateway.
  return spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NATS_URL: nats.url,
      GATEWAY_PORT: String(port),
      INSTANCE_ID: id,
      PRESENCE_HEARTBEAT: `${HB_MS}ms`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
