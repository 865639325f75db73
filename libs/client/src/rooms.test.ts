import type { ChatMessage } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerError } from './errors.ts';
import type { GapEvent } from './events.ts';
import { chain } from './recovery.ts';
import { type FakeSocket, openClient, settle } from './testing/fake-server.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const msg = (seq: number, prev: number, room = 'r'): ChatMessage & { type: 'message' } => ({
  type: 'message',
  room,
  seq,
  prev,
  msgId: `m${seq}`,
  from: 'bob',
  body: `b${seq}`,
  ts: 0,
  clientMsgId: `c${seq}`,
});

async function joined(opts: Parameters<typeof openClient>[1] = {}) {
  const { client, server } = await openClient(vi, opts);
  const seen: number[] = [];
  const gaps: GapEvent[] = [];
  client.on('message', (m) => seen.push(m.seq));
  client.on('gap', (g) => gaps.push(g));
  const join = client.join('r');
  await settle(vi);
  expect(server.socket.last('join')).toMatchObject({ room: 'r' });
  expect(server.socket.last('join').since).toBeUndefined();
  server.socket.reply('join', { type: 'joined', room: 'r', seq: 10, epoch: 'e1' });
  expect(await join).toEqual({ seq: 10, epoch: 'e1' });
  return { client, server, seen, gaps, sock: server.socket };
}

/** Drops the socket, waits out the backoff and welcomes the new one; returns it. */
async function reconnect(server: { socket: FakeSocket }): Promise<FakeSocket> {
  server.socket.drop(1006);
  await settle(vi, 10_000);
  server.socket.welcome();
  await settle(vi);
  return server.socket;
}

describe('rooms: cursor, duplicates, live gaps', () => {
  it('takes the cursor from joined.seq (sparse rooms) and drops duplicates', async () => {
    const { client, sock, seen } = await joined();
    for (const m of [msg(14, 10), msg(14, 10), msg(9, 3), msg(20, 14)]) sock.push(m);
    expect(seen).toEqual([14, 20]);
    expect(client.cursor('r')).toEqual({ seq: 20, epoch: 'e1' });
  });

  it('rejoins every room with since/epoch after a reconnect and drops replayed duplicates', async () => {
    const { server, sock, seen } = await joined();
    sock.push(msg(12, 10));
    const s2 = await reconnect(server);
    expect(s2.last('join')).toMatchObject({ room: 'r', since: 12, epoch: 'e1' });
    for (const m of [msg(12, 10), msg(15, 12), msg(16, 15)]) s2.push(m);
    s2.reply('join', { type: 'joined', room: 'r', seq: 16, epoch: 'e1', recovered: true });
    s2.push(msg(17, 16));
    expect(seen).toEqual([12, 15, 16, 17]);
  });

  it('on a live gap rejoins with since, keeps chained messages, and lets the replay fill the rest', async () => {
    const { sock, seen } = await joined();
    sock.push(msg(11, 10));
    sock.push(msg(14, 13)); // 13 is missing
    const rejoin = sock.last('join');
    expect(rejoin).toMatchObject({ since: 11, epoch: 'e1' });
    sock.push(msg(15, 14)); // still not chained: dropped, the replay brings it
    expect(sock.of('join')).toHaveLength(2); // one recovery join at a time
    for (const m of [msg(13, 11), msg(14, 13), msg(15, 14)]) sock.push(m);
    sock.reply('join', { type: 'joined', room: 'r', seq: 15, epoch: 'e1', recovered: true });
    sock.push(msg(16, 15));
    expect(seen).toEqual([11, 13, 14, 15, 16]);
  });

  it('rejoins again when a recovered join stops short of joined.seq', async () => {
    const { server, sock } = await joined();
    sock.push(msg(11, 10));
    const s2 = await reconnect(server);
    s2.reply('join', { type: 'joined', room: 'r', seq: 13, epoch: 'e1', recovered: true });
    expect(s2.of('join')).toHaveLength(2);
    expect(s2.last('join')).toMatchObject({ since: 11 });
  });

  it('reports an epoch change as a gap and restarts the cursor in the new epoch', async () => {
    const { client, server, gaps } = await joined();
    const s2 = await reconnect(server);
    s2.reply('join', { type: 'joined', room: 'r', seq: 4, epoch: 'e2', recovered: false });
    expect(gaps).toEqual([{ room: 'r', from: 0, to: 4, epochChanged: true }]);
    expect(client.cursor('r')).toEqual({ seq: 4, epoch: 'e2' });
    expect(s2.of('history')).toHaveLength(0);
  });

  it('retries a join refused as unavailable after a backoff, and rejects a forbidden one', async () => {
    const { client, sock } = await joined();
    const p = client.join('other');
    await settle(vi);
    sock.reply('join', { type: 'error', code: 'unavailable', message: 'nats down' });
    expect(sock.of('join')).toHaveLength(2);
    await settle(vi, 50);
    expect(sock.of('join')).toHaveLength(3);
    sock.reply('join', { type: 'joined', room: 'other', seq: 0, epoch: 'e1' });
    expect(await p).toEqual({ seq: 0, epoch: 'e1' });
    const denied = client.join('secret').catch((e: unknown) => e);
    await settle(vi);
    sock.reply('join', { type: 'error', code: 'forbidden', message: 'no' });
    expect(await denied).toBeInstanceOf(ServerError);
    expect(client.cursor('secret')).toBeUndefined();
  });
});

describe('recovered: false -> history paging', () => {
  it('pages history back to the cursor, delivers it in order, then the live messages held meanwhile', async () => {
    const { server, sock, seen, gaps } = await joined({ recoverLimit: 1000 });
    sock.push(msg(12, 10));
    const s2 = await reconnect(server);
    s2.reply('join', { type: 'joined', room: 'r', seq: 400, epoch: 'e1', recovered: false });
    s2.push(msg(401, 400)); // live, held until the gap is closed
    await settle(vi);
    expect(s2.last('history')).toMatchObject({ room: 'r', before: 401, limit: 100 });
    const newer = Array.from({ length: 100 }, (_, i) => msg(301 + i, 300 + i));
    s2.reply('history', { type: 'history', room: 'r', messages: newer, more: true });
    await settle(vi);
    expect(s2.last('history')).toMatchObject({ before: 301 });
    const older = [msg(20, 12), ...Array.from({ length: 280 }, (_, i) => msg(21 + i, 20 + i))];
    s2.reply('history', { type: 'history', room: 'r', messages: older, more: true });
    await settle(vi);
    expect(s2.of('history')).toHaveLength(2);
    expect(gaps).toEqual([]);
    expect(seen).toEqual([12, ...older.map((m) => m.seq), ...newer.map((m) => m.seq), 401]);
  });

  it('emits a gap for what history cannot reach, then continues live', async () => {
    const { client, server, sock, seen, gaps } = await joined();
    sock.push(msg(12, 10));
    const s2 = await reconnect(server);
    s2.reply('join', { type: 'joined', room: 'r', seq: 60, epoch: 'e1', recovered: false });
    await settle(vi);
    s2.reply('history', { type: 'history', room: 'r', messages: [msg(50, 40), msg(60, 50)], more: false });
    await settle(vi);
    expect(gaps).toEqual([{ room: 'r', from: 12, to: 40 }]);
    expect(seen).toEqual([12, 50, 60]);
    s2.push(msg(61, 60));
    expect(seen.at(-1)).toBe(61);
    expect(client.cursor('r')?.seq).toBe(61);
  });

  it('reports the whole range as a gap when history is unavailable', async () => {
    const { server, seen, gaps } = await joined();
    const s2 = await reconnect(server);
    s2.reply('join', { type: 'joined', room: 'r', seq: 30, epoch: 'e1', recovered: false });
    await settle(vi);
    s2.reply('history', { type: 'error', code: 'unavailable', message: 'history down' });
    await settle(vi);
    expect(gaps).toEqual([{ room: 'r', from: 10, to: 30 }]);
    s2.push(msg(31, 30));
    expect(seen).toEqual([31]);
  });

  it('abandons a fill interrupted by a reconnect and recovers from the unchanged cursor', async () => {
    const { server, seen } = await joined();
    const s2 = await reconnect(server);
    s2.reply('join', { type: 'joined', room: 'r', seq: 30, epoch: 'e1', recovered: false });
    await settle(vi);
    expect(s2.of('history')).toHaveLength(1);
    const s3 = await reconnect(server);
    expect(s3.last('join')).toMatchObject({ since: 10 });
    expect(seen).toEqual([]);
  });
});

it('chain() marks breaks in the prev-chain and a short tail as gaps', () => {
  const items = chain([msg(5, 4), msg(9, 5), msg(12, 10)], 4, 20);
  expect(items.map((i) => ('gap' in i ? i.gap : i.message.seq))).toEqual([
    5,
    9,
    { from: 9, to: 10 },
    12,
    { from: 12, to: 20 },
  ]);
});
