import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthError, DisconnectedError, TimeoutError } from './errors.ts';
import type { StateChange } from './events.ts';
import { backoffDelay, closeAction, tokenExpiry, tokenSubject } from './reconnect.ts';
import { fakeClient, fakeJwt, openClient, settle } from './testing/fake-server.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  const b = { initialMs: 100, maxMs: 5000, factor: 2 };
  it('grows by the factor, is capped, and jitters over [0, ceiling)', () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, b, top))).toEqual([
      99, 199, 399, 799, 1599, 3199, 4999, 4999,
    ]);
    for (let a = 0; a < 12; a++) expect(backoffDelay(a, b, () => 0)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, b, Math.random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(800);
    }
  });
});

describe('closeAction: one classification from the CloseCodes table', () => {
  it.each([
    [4001, 'reauth'],
    [4003, 'reauth'],
    [4008, 'hard'],
    [4010, 'reconnect'],
    [1001, 'reconnect'],
    [1006, 'reconnect'],
    [1009, 'reconnect'],
    [1000, 'reconnect'],
  ])('%i -> %s', (code, action) => expect(closeAction(code)).toBe(action));
});

it('reads exp and sub from a JWT without verifying it, and tolerates garbage', () => {
  const jwt = fakeJwt({ sub: 'ann', exp: 1_700_000_000 });
  expect(tokenExpiry(jwt)).toBe(1_700_000_000_000);
  expect(tokenSubject(jwt)).toBe('ann');
  expect(tokenExpiry('not-a-jwt')).toBeUndefined();
  expect(tokenExpiry('a.!!!.c')).toBeUndefined();
});

function record(client: { on(e: 'state', h: (s: StateChange) => void): () => void }): StateChange[] {
  const states: StateChange[] = [];
  client.on('state', (s) => states.push(s));
  return states;
}

describe('connection state machine', () => {
  it('connecting -> open on welcome -> reconnecting on 1006 -> open again, token in the URL', async () => {
    const { client, server } = fakeClient();
    const states = record(client);
    await settle(vi);
    expect(server.socket.token).toBe('tok');
    expect(client.state).toBe('connecting');
    server.socket.welcome();
    expect(client.state).toBe('open');
    server.socket.drop(1006);
    expect(client.state).toBe('reconnecting');
    await settle(vi, 49);
    expect(server.sockets).toHaveLength(1);
    await settle(vi, 1);
    expect(server.sockets).toHaveLength(2);
    server.socket.welcome();
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(states[2]).toMatchObject({ attempt: 1, delayMs: 50, code: 1006 });
  });

  it('backs off exponentially while attempts fail, caps the delay, and resets after a welcome', async () => {
    const { client, server } = await openClient(vi, { backoff: { initialMs: 100, maxMs: 1000, factor: 2 } });
    const states = record(client);
    for (let i = 0; i < 6; i++) {
      server.socket.drop(1006);
      await settle(vi, states.at(-1)?.delayMs ?? 0);
    }
    expect(states.map((s) => s.delayMs)).toEqual([50, 100, 200, 400, 500, 500]);
    server.socket.welcome();
    server.socket.drop(1006);
    expect(states.at(-1)?.delayMs).toBe(50);
  });

  it('honours the server reconnect hint once', async () => {
    const { client, server } = await openClient(vi);
    const states = record(client);
    server.socket.push({ type: 'reconnect', afterMs: 1234 });
    server.socket.drop(1001, 'draining');
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', delayMs: 1234, code: 1001 });
    await settle(vi, 1234);
    server.socket.drop(1006);
    expect(states.at(-1)?.delayMs).toBe(100);
  });

  it('backs off hard (the cap) on 4008 and reconnects normally on 4010', async () => {
    const { client, server } = await openClient(vi);
    const states = record(client);
    server.socket.drop(4008, 'abuse');
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', delayMs: 10_000 });
    await settle(vi, 10_000);
    server.socket.welcome();
    server.socket.drop(4010, 'slow');
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', delayMs: 50 });
  });

  it('stops on 4001 when the token is a fixed string', async () => {
    const { client, server } = await openClient(vi);
    const states = record(client);
    server.socket.drop(4001, 'revoked');
    expect(client.state).toBe('closed');
    expect(states.at(-1)?.error).toBeInstanceOf(AuthError);
    await settle(vi, 60_000);
    expect(server.sockets).toHaveLength(1);
  });

  it('on 4003 asks the getter for a new token; a second auth close before welcome stops', async () => {
    let n = 0;
    const getter = vi.fn(async () => `t${++n}`);
    const { client, server } = await openClient(vi, { token: getter });
    expect(server.socket.token).toBe('t1');
    server.socket.drop(4003, 'expired');
    await settle(vi, 50);
    expect(server.socket.token).toBe('t2');
    server.socket.drop(4001, 'bad');
    expect(client.state).toBe('closed');
    expect(getter).toHaveBeenCalledTimes(2);
  });

  it('stops when the token getter fails', async () => {
    const { client, server } = fakeClient({ token: () => Promise.reject(new Error('logged out')) });
    const states = record(client);
    await settle(vi);
    expect(server.sockets).toHaveLength(0);
    expect(client.state).toBe('closed');
    expect(states.at(-1)?.error).toBeInstanceOf(AuthError);
  });

  it('refreshes the token refreshBeforeMs before exp (server clock) and keeps the connection', async () => {
    const now = Date.now();
    let n = 0;
    const getter = vi.fn(async () => fakeJwt({ sub: 'alice', exp: Math.floor(now / 1000) + 120 + 60 * n++ }));
    const { client, server } = fakeClient({ token: getter, refreshBeforeMs: 30_000 });
    await settle(vi);
    // Server clock 10 s ahead: refresh is due 10 s earlier than by the local clock.
    server.socket.welcome({ serverTime: now + 10_000 });
    await settle(vi, 79_000);
    expect(server.socket.of('refresh')).toHaveLength(0);
    await settle(vi, 1000);
    const refresh = server.socket.last('refresh');
    expect(refresh.token).not.toBe(server.socket.token);
    server.socket.reply('refresh', { type: 'ok' });
    expect(getter).toHaveBeenCalledTimes(2);
    // The second token lives 60 s longer, so the next refresh is due 60 s later.
    await settle(vi, 58_000);
    expect(server.socket.of('refresh')).toHaveLength(1);
    await settle(vi, 3000);
    expect(server.socket.of('refresh')).toHaveLength(2);
    expect(client.state).toBe('open');
  });

  it('abandons a socket silent for two heartbeats, after pinging it', async () => {
    const { client, server } = fakeClient();
    await settle(vi);
    server.socket.autoPong = false;
    server.socket.welcome({ heartbeatMs: 1000 });
    await settle(vi, 1000);
    expect(server.socket.of('ping')).toHaveLength(1);
    server.socket.push({ type: 'pong', serverTime: 0 });
    await settle(vi, 2000);
    expect(client.state).toBe('open');
    await settle(vi, 1000);
    expect(client.state).toBe('reconnecting');
    expect(server.socket.closedWith?.code).toBe(4000);
  });

  it('treats an error event without a close (Node 22, refused connection) as a drop', async () => {
    const { client, server } = fakeClient();
    const states = record(client);
    await settle(vi);
    server.socket.fail();
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', code: 1006 });
    server.sockets[0]?.drop(1006); // a late close of the abandoned socket changes nothing
    expect(states.filter((s) => s.state === 'reconnecting')).toHaveLength(1);
    await settle(vi, 50);
    expect(server.sockets).toHaveLength(2);
  });

  it('abandons a handshake with no welcome within requestTimeoutMs', async () => {
    const { client, server } = fakeClient({ requestTimeoutMs: 3000 });
    await settle(vi, 2999);
    expect(client.state).toBe('connecting');
    await settle(vi, 1);
    expect(client.state).toBe('reconnecting');
    expect(server.socket.closedWith?.code).toBe(4000);
  });

  it('fails requests in flight on a drop, and times out unanswered ones', async () => {
    const { client, server } = await openClient(vi, { requestTimeoutMs: 500 });
    const lost = client.presence('r');
    const lostErr = lost.catch((e: unknown) => e);
    await settle(vi);
    server.socket.drop(1006);
    expect(await lostErr).toBeInstanceOf(DisconnectedError);
    const waiting = client.unread(['r']).catch((e: unknown) => e);
    await settle(vi, 500);
    expect(await waiting).toBeInstanceOf(TimeoutError);
  });

  it('states() yields every change and ends after closed', async () => {
    const { client, server } = fakeClient();
    const seen: string[] = [];
    const done = (async () => {
      for await (const s of client.states()) seen.push(s.state);
    })();
    await settle(vi);
    server.socket.welcome();
    await client.close();
    await done;
    expect(seen).toEqual(['connecting', 'open', 'closed']);
    expect(server.socket.closedWith?.code).toBe(1000);
  });
});
