/**
 * Every row of the protocol table (ARCHITECTURE §4) that needs the services behind the gateway:
 * leave, typing, status, ping, watch, read/unread, profile, conversations, notifications.read,
 * history, presence, and the error codes they can answer with. Runs on the whole cluster in one
 * process, on memory brokers (unit) and on real NATS/Kafka/Mongo-wire (int).
 */
import { DEV_SECRET, signToken } from '@parley/auth';
import type { ServerFrame } from '@parley/protocol';
import { eventually, type WsClient } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from './stack.ts';

type Of<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;
const rid = (p: string) => `${p}${Math.random().toString(36).slice(2, 8)}`;

export function protocolRowsSuite(name: string, start: () => Promise<Stack>): void {
  describe(`protocol rows through the whole cluster (${name})`, () => {
    let s: Stack;
    beforeAll(async () => {
      s = await start();
    }, 120_000);
    afterAll(async () => {
      await s?.stop();
    });

    async function pair(room: string): Promise<[WsClient, WsClient]> {
      const a = await s.connect(rid('a'));
      const b = await s.connect(rid('b'));
      expect((await a.request({ type: 'join', room })).type).toBe('joined');
      expect((await b.request({ type: 'join', room })).type).toBe('joined');
      return [a, b];
    }

    it('ping, leave/left and not_joined for leave, typing and publish', async () => {
      const room = rid('l');
      const [a] = await pair(room);
      expect(await a.request({ type: 'ping' })).toMatchObject({
        type: 'pong',
        serverTime: expect.any(Number),
      });
      expect(await a.request({ type: 'leave', room })).toMatchObject({ type: 'left', room });
      expect(await a.request({ type: 'leave', room })).toMatchObject({ type: 'error', code: 'not_joined' });
      expect(await a.request({ type: 'typing', room, on: true })).toMatchObject({ code: 'not_joined' });
      const body = { big: 'x'.repeat(17_000) };
      expect(await a.request({ type: 'publish', room, body, clientMsgId: 'b' })).toMatchObject({
        code: 'too_large',
      });
    });

    it('typing reaches the others, not the sender, coalesced, then off', async () => {
      const room = rid('t');
      const [a, b] = await pair(room);
      a.send({ type: 'typing', room, on: true });
      a.send({ type: 'typing', room, on: true });
      await b.waitFor((f) => f.type === 'typing' && f.on);
      a.send({ type: 'typing', room, on: false });
      await b.waitFor((f) => f.type === 'typing' && !f.on);
      expect(b.ofType('typing').map((t) => [t.userId, t.on])).toEqual([
        [a.welcome.userId, true],
        [a.welcome.userId, false],
      ]);
      expect((await a.request({ type: 'ping' })).type).toBe('pong');
      expect(a.ofType('typing')).toEqual([]);
    });

    it('status and profile reach the room as presence.update; later messages carry the name', async () => {
      const room = rid('s');
      const [a, b] = await pair(room);
      expect(await a.request({ type: 'status', status: 'away' })).toMatchObject({ type: 'ok' });
      await b.waitFor(
        (f) => f.type === 'presence.update' && f.userId === a.welcome.userId && f.status === 'away',
      );
      expect(await a.request({ type: 'profile', name: 'Ann <A.>' })).toMatchObject({ type: 'ok' });
      await b.waitFor(
        (f) => f.type === 'presence.update' && f.userId === a.welcome.userId && f.name === 'Ann <A.>',
      );
      await a.request({ type: 'publish', room, body: 'named', clientMsgId: 'n1' });
      expect(await b.waitFor((f) => f.type === 'message' && f.clientMsgId === 'n1')).toMatchObject({
        name: 'Ann <A.>',
      });
      expect(await a.request({ type: 'profile', name: 'bad\u0007' })).toMatchObject({ code: 'bad_request' });
      const presence = (await b.request({ type: 'presence', room })) as Of<'presence'>;
      expect(presence.count).toBe(2);
      expect(presence.users.find((u) => u.userId === a.welcome.userId)).toMatchObject({ status: 'away' });
    });

    it('watch: current status at once, then every change', async () => {
      const watcher = await s.connect(rid('w'));
      const friend = rid('f');
      expect(await watcher.request({ type: 'watch', users: [friend] })).toMatchObject({ type: 'ok' });
      await watcher.waitFor(
        (f) => f.type === 'presence.user' && f.userId === friend && f.status === 'offline',
      );
      const c = await s.connect(friend);
      await watcher.waitFor(
        (f) => f.type === 'presence.user' && f.userId === friend && f.status === 'online',
      );
      await c.close();
      await eventually(() =>
        expect(watcher.ofType('presence.user').filter((f) => f.status === 'offline').length).toBe(2),
      );
    });

    it('history, read markers, unread counts and conversations', async () => {
      const room = rid('h');
      const [a, b] = await pair(room);
      const acks = [];
      for (let i = 0; i < 3; i++)
        acks.push(await a.request({ type: 'publish', room, body: `m${i}`, clientMsgId: `h${i}` }));
      const seqs = acks.map((x) => (x as Of<'ack'>).seq);
      await eventually(
        async () => {
          const h = (await b.request({ type: 'history', room, limit: 2 })) as Of<'history'>;
          expect(h.messages.map((m) => m.body)).toEqual(['m1', 'm2']);
          expect(h.more).toBe(true);
          expect(h.messages[1]?.prev).toBe(seqs[1]);
        },
        { timeoutMs: 20_000 },
      );
      expect(await b.request({ type: 'unread', rooms: [room] })).toMatchObject({ counts: { [room]: 3 } });
      const other = await s.connect(b.welcome.userId);
      expect(await b.request({ type: 'read', room, seq: seqs[1]! })).toMatchObject({ type: 'ok' });
      expect(await other.waitFor((f) => f.type === 'read')).toMatchObject({
        room,
        userId: b.welcome.userId,
        seq: seqs[1],
      });
      expect(await b.request({ type: 'unread', rooms: [room] })).toMatchObject({ counts: { [room]: 1 } });
      // An older marker never moves it back.
      await b.request({ type: 'read', room, seq: seqs[0]! });
      expect(await b.request({ type: 'unread', rooms: [room] })).toMatchObject({ counts: { [room]: 1 } });
      await eventually(
        async () => {
          const c = (await a.request({ type: 'conversations' })) as Of<'conversations'>;
          expect(c.items.map((i) => i.room)).toContain(room);
        },
        { timeoutMs: 20_000 },
      );
    });

    it('notifications: live on every device, read on one clears it on the other', async () => {
      const user = rid('n');
      const d1 = await s.connect(user);
      const d2 = await s.connect(user);
      const sender = await signToken(DEV_SECRET, { sub: 'svc', scope: 'notify:send' }, { ttlSec: 60 });
      const res = await fetch(`${s.http.notify}/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sender}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: { users: [user] }, title: 'Hi', body: 'there' }),
      });
      expect(res.status).toBe(202);
      const n1 = (await d1.waitFor((f) => f.type === 'notification')) as Of<'notification'>;
      await d2.waitFor((f) => f.type === 'notification');
      expect(n1.notification).toMatchObject({ title: 'Hi', read: false });
      expect(await d1.request({ type: 'notifications.read', ids: [n1.notification.id] })).toMatchObject({
        type: 'ok',
      });
      await d2.waitFor((f) => f.type === 'notification' && f.notification.read);
      const d3 = await s.connect(user);
      const initial = (await d3.waitFor((f) => f.type === 'notifications')) as Of<'notifications'>;
      expect(initial.unread.map((n) => n.id)).not.toContain(n1.notification.id);
    });
  });
}
