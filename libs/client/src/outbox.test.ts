import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { ClosedError, OutboxFullError, ServerError, TimeoutError } from './errors.ts';
import { openClient, settle } from './testing/fake-server.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function inRoom(opts: Parameters<typeof openClient>[1] = {}) {
  const c = await openClient(vi, opts);
  const join = c.client.join('r');
  await settle(vi);
  c.server.socket.reply('join', { type: 'joined', room: 'r', seq: 0, epoch: 'e1' });
  await join;
  return { ...c, sock: c.server.socket };
}

const ack = (seq: number, duplicate = false) => ({
  type: 'ack',
  room: 'r',
  seq,
  msgId: `m${seq}`,
  duplicate,
});

it('resolves once with the ack', async () => {
  const { client, sock } = await inRoom();
  const p = client.publish('r', 'hi');
  const sent = sock.last('publish');
  expect(sent).toMatchObject({ room: 'r', body: 'hi' });
  expect(sent.clientMsgId).toMatch(/[0-9a-f-]{36}/);
  sock.reply('publish', ack(1));
  sock.reply('publish', ack(1)); // a stray second reply changes nothing
  expect(await p).toEqual({ seq: 1, msgId: 'm1', duplicate: false });
  expect(client.outboxSize).toBe(0);
});

it('refuses a room that was never joined, and holds publishes until the room is live', async () => {
  const { client, server } = await openClient(vi);
  await expect(client.publish('nope', 'x')).rejects.toMatchObject({ code: 'not_joined' });
  const join = client.join('r');
  const p = client.publish('r', 'early');
  await settle(vi);
  expect(server.socket.of('publish')).toHaveLength(0);
  server.socket.reply('join', { type: 'joined', room: 'r', seq: 0, epoch: 'e1' });
  await join;
  expect(server.socket.last('publish').body).toBe('early');
  server.socket.reply('publish', ack(1));
  await expect(p).resolves.toMatchObject({ seq: 1 });
});

it('resends with the same clientMsgId after a lost ack and resolves once (duplicate)', async () => {
  const { client, server, sock } = await inRoom();
  const p = client.publish('r', 'once');
  const first = sock.last('publish').clientMsgId;
  sock.drop(1006); // the ack is lost with the socket
  await settle(vi, 10_000);
  const s2 = server.socket;
  s2.welcome();
  await settle(vi);
  expect(s2.of('publish')).toHaveLength(0); // not before the room is live again
  s2.reply('join', { type: 'joined', room: 'r', seq: 1, epoch: 'e1', recovered: true });
  expect(s2.of('publish').map((f) => f.clientMsgId)).toEqual([first]);
  s2.reply('publish', ack(1, true));
  expect(await p).toEqual({ seq: 1, msgId: 'm1', duplicate: true });
  expect(client.outboxSize).toBe(0);
});

it('refuses publishes beyond outboxLimit', async () => {
  const { client } = await inRoom({ outboxLimit: 2 });
  void client.publish('r', 'a');
  void client.publish('r', 'b');
  await expect(client.publish('r', 'c')).rejects.toBeInstanceOf(OutboxFullError);
  expect(client.outboxSize).toBe(2);
});

it('rejects at the ack deadline and forgets the entry', async () => {
  const { client } = await inRoom({ ackTimeoutMs: 1000 });
  const p = client.publish('r', 'slow').catch((e: unknown) => e);
  await settle(vi, 1000);
  expect(await p).toBeInstanceOf(TimeoutError);
  expect(client.outboxSize).toBe(0);
});

it('rejects on a permanent refusal and resends after a retryable one', async () => {
  const { client, sock } = await inRoom();
  const big = client.publish('r', 'x').catch((e: unknown) => e);
  sock.reply('publish', { type: 'error', code: 'too_large', message: 'big' });
  expect(await big).toMatchObject({ code: 'too_large' });
  expect(await big).toBeInstanceOf(ServerError);
  const p = client.publish('r', 'y');
  const id = sock.last('publish').clientMsgId;
  sock.reply('publish', { type: 'error', code: 'rate_limited', message: 'slow down' });
  expect(sock.of('publish')).toHaveLength(2);
  await settle(vi, 50);
  expect(sock.of('publish')).toHaveLength(3);
  expect(sock.last('publish').clientMsgId).toBe(id);
  sock.reply('publish', ack(7));
  await expect(p).resolves.toMatchObject({ seq: 7 });
});

it('paces sends by the publish limits from welcome', async () => {
  const { client, server } = await openClient(vi);
  server.socket.drop(1006);
  await settle(vi, 10_000);
  server.socket.welcome({ limits: { publishPerSecond: 2, publishBurst: 2 } });
  const join = client.join('r');
  await settle(vi);
  server.socket.reply('join', { type: 'joined', room: 'r', seq: 0, epoch: 'e1' });
  await join;
  for (let i = 0; i < 4; i++) void client.publish('r', `m${i}`);
  expect(server.socket.of('publish')).toHaveLength(2);
  await settle(vi, 500);
  expect(server.socket.of('publish')).toHaveLength(3);
  await settle(vi, 500);
  expect(server.socket.of('publish').map((f) => f.body)).toEqual(['m0', 'm1', 'm2', 'm3']);
});

it('close() rejects pending publishes with ClosedError', async () => {
  const { client } = await inRoom();
  const p = client.publish('r', 'bye').catch((e: unknown) => e);
  await client.close();
  expect(await p).toBeInstanceOf(ClosedError);
  expect(client.outboxSize).toBe(0);
});
