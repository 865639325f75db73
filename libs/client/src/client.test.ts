import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ParleyClient } from './client.ts';
import type { ClientEvents } from './events.ts';
import { fakeJwt, fakeServer, openClient, settle } from './testing/fake-server.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('typing and status', () => {
  it('throttles typing on per room and sends off only after on', async () => {
    const { client, server } = await openClient(vi, { typingThrottleMs: 2000 });
    client.typing('r', false);
    client.typing('r', true);
    client.typing('r', true);
    client.typing('s', true);
    await settle(vi, 1999);
    client.typing('r', true);
    expect(server.socket.of('typing').map((f) => [f.room, f.on])).toEqual([
      ['r', true],
      ['s', true],
    ]);
    await settle(vi, 1);
    client.typing('r', true);
    client.typing('r', false);
    expect(server.socket.of('typing')).toHaveLength(4);
    expect(server.socket.last('typing')).toMatchObject({ room: 'r', on: false });
  });

  it('goes away after idleAwayMs without activity and back online on activity', async () => {
    const { client, server } = await openClient(vi, { idleAwayMs: 60_000 });
    await settle(vi, 30_000);
    client.markActive();
    await settle(vi, 59_000);
    expect(server.socket.of('status')).toHaveLength(0);
    await settle(vi, 1000);
    expect(server.socket.last('status').status).toBe('away');
    expect(client.status).toBe('away');
    client.typing('r', true); // typing is activity
    expect(server.socket.last('status').status).toBe('online');
    expect(client.status).toBe('online');
  });

  it('leaves a chosen status alone and restores it on reconnect', async () => {
    const { client, server } = await openClient(vi, { idleAwayMs: 1000 });
    client.setStatus('dnd');
    await settle(vi, 5000);
    expect(server.socket.of('status').map((f) => f.status)).toEqual(['dnd']);
    server.socket.drop(1006);
    await settle(vi, 10_000);
    server.socket.welcome();
    expect(server.socket.last('status').status).toBe('dnd');
  });
});

describe('queries and events', () => {
  it('sends each query frame and returns the reply fields', async () => {
    const { client, server } = await openClient(vi);
    const s = server.socket;
    const presence = client.presence('r');
    await settle(vi);
    s.reply('presence', {
      type: 'presence',
      room: 'r',
      users: [{ userId: 'bob', status: 'online' }],
      count: 1,
    });
    expect(await presence).toEqual({ room: 'r', users: [{ userId: 'bob', status: 'online' }], count: 1 });
    const unread = client.unread(['r']);
    await settle(vi);
    s.reply('unread', { type: 'unread', counts: { r: 3 } });
    expect(await unread).toEqual({ r: 3 });
    const history = client.history('r', { before: 9, limit: 2 });
    await settle(vi);
    expect(s.last('history')).toMatchObject({ room: 'r', before: 9, limit: 2 });
    s.reply('history', { type: 'history', room: 'r', messages: [], more: false });
    expect(await history).toEqual({ messages: [], more: false });
    const convs = client.conversations({ limit: 5 });
    await settle(vi);
    s.reply('conversations', { type: 'conversations', items: [], more: true });
    expect(await convs).toEqual({ items: [], more: true });
    for (const [call, type] of [
      [() => client.read('r', 4), 'read'],
      [() => client.profile('Alice'), 'profile'],
      [() => client.markNotificationsRead(['n1']), 'notifications.read'],
    ] as const) {
      const p = call();
      await settle(vi);
      s.reply(type, { type: 'ok' });
      await expect(p).resolves.toBeUndefined();
    }
    expect(s.last('read')).toMatchObject({ room: 'r', seq: 4 });
    expect(s.last('notifications.read').ids).toEqual(['n1']);
  });

  it('re-sends watch after a reconnect and emits presence.user', async () => {
    const { client, server } = await openClient(vi);
    const users: ClientEvents['presence.user'][] = [];
    client.on('presence.user', (u) => users.push(u));
    const w = client.watch(['bob']);
    await settle(vi);
    server.socket.reply('watch', { type: 'ok' });
    await w;
    server.socket.drop(1006);
    await settle(vi, 10_000);
    server.socket.welcome();
    expect(server.socket.last('watch').users).toEqual(['bob']);
    server.socket.push({ type: 'presence.user', userId: 'bob', status: 'away' });
    expect(users).toMatchObject([{ userId: 'bob', status: 'away' }]);
  });

  it('emits notifications, typing, read and unsolicited errors; a throwing handler becomes an error event', async () => {
    const { client, server } = await openClient(vi);
    const got: string[] = [];
    client.on('notifications', (n) => got.push(`unread:${n.unread.length}`));
    client.on('notification', (n) => got.push(`n:${n.id}`));
    client.on('typing', (t) => got.push(`typing:${t.userId}:${t.on}`));
    client.on('read', (r) => got.push(`read:${r.seq}`));
    client.on('error', (e) => got.push(`error:${e.message}`));
    const off = client.on('typing', () => {
      throw new Error('app bug');
    });
    const n = { id: 'n1', title: 't', body: 'b', createdAt: 0, read: false };
    server.socket.push({ type: 'notifications', unread: [n] });
    server.socket.push({ type: 'notification', notification: n });
    server.socket.push({ type: 'typing', room: 'r', userId: 'bob', on: true });
    off();
    server.socket.push({ type: 'read', room: 'r', userId: 'bob', seq: 5 });
    server.socket.push({ type: 'error', code: 'rate_limited', message: 'typing' });
    expect(got).toEqual([
      'unread:1',
      'n:n1',
      'typing:bob:true',
      'error:app bug',
      'read:5',
      'error:rate_limited: typing',
    ]);
  });
});

describe('dm and options', () => {
  it('builds canonical DM room ids including yourself', async () => {
    const { client } = await openClient(vi);
    expect(client.dm(['carol', 'bob'])).toBe('dm#alice,bob,carol');
    expect(client.dm(['alice', 'bob'], 'proj')).toBe('proj#alice,bob');
    const offline = new ParleyClient({
      url: 'ws://x/ws',
      token: fakeJwt({ sub: 'zed' }),
      WebSocket: fakeServer().WebSocket,
    });
    expect(offline.dm(['amy'])).toBe('dm#amy,zed');
    await offline.close();
  });

  it('names every bad option in one error', () => {
    expect(
      () =>
        new ParleyClient({
          url: 'http://x',
          token: 'tok',
          WebSocket: fakeServer().WebSocket,
          ackTimeoutMs: -1,
          backoff: { factor: 0.5 },
        }),
    ).toThrow(/url must be a ws:\/\/.*ackTimeoutMs must be a positive number.*backoff.factor must be >= 1/);
  });
});
