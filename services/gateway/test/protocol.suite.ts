/**
 * The gateway's protocol suite (walking skeleton part): auth at connect, bad frames, permissions,
 * join/publish/ack/dedupe. Runs on the memory bus (unit project) and on real NATS (int project).
 */
import { signToken } from '@parley/auth';
import { expectClose, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './harness.ts';
import { token } from './harness.ts';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export function protocolSuite(name: string, start: () => Promise<TestGateway>): void {
  describe(`gateway protocol (${name})`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await start();
    });
    afterAll(async () => {
      await gw?.stop();
    });
    const room = () => `r${Math.random().toString(36).slice(2, 10)}`;

    describe('auth at connect closes with 4001', () => {
      const cases: [string, () => Promise<string | undefined>][] = [
        ['missing token', async () => undefined],
        ['garbage', async () => 'not-a-jwt'],
        ['wrong signature', () => signToken('x'.repeat(40), { sub: 'mallory', rooms: ['*'] })],
        ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'eve', exp: 9e9 })}.`],
        ['expired', () => token('old', {}, -60)],
      ];
      for (const [label, make] of cases) {
        it(label, async () => {
          const t = await make();
          const closed = await expectClose(gw.url, t === undefined ? {} : { token: t });
          expect(closed.code).toBe(4001);
          expect(closed.reason.length).toBeGreaterThan(0);
        });
      }

      it('accepts the token in the Authorization header too', async () => {
        const c = await wsClient(gw.url, { headers: { authorization: `Bearer ${await token('hdr')}` } });
        expect(c.welcome.userId).toBe('hdr');
        await c.close();
      });
    });

    describe('bad frames get an error and the connection stays open', () => {
      const bad: [string, unknown, string][] = [
        ['invalid JSON', '{nope', 'bad_request'],
        ['unknown type', { type: 'dance' }, 'bad_request'],
        ['missing room', { type: 'join' }, 'bad_request'],
        ['wrong field type', { type: 'typing', room: 'a', on: 'yes' }, 'bad_request'],
        ['bad room id', { type: 'join', room: 'a.b' }, 'bad_request'],
        [
          'oversize body',
          { type: 'publish', room: 'a', clientMsgId: 'x', body: 'x'.repeat(4001) },
          'too_large',
        ],
      ];
      for (const [label, frame, code] of bad) {
        it(label, async () => {
          const c = await wsClient(gw.url, { token: await token('badframes') });
          c.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
          const err = await c.waitFor((f) => f.type === 'error');
          expect(err).toMatchObject({ type: 'error', code });
          const pong = await c.request({ type: 'ping' });
          expect(pong.type).toBe('pong');
          await c.close();
        });
      }
    });

    it('refuses join and publish outside the token patterns with forbidden', async () => {
      const c = await wsClient(gw.url, {
        token: await token('limited', { rooms: ['team-*'], pub: ['team-a'] }),
      });
      expect(await c.request({ type: 'join', room: 'other' })).toMatchObject({
        type: 'error',
        code: 'forbidden',
      });
      expect(await c.request({ type: 'join', room: 'team-b' })).toMatchObject({
        type: 'joined',
        room: 'team-b',
      });
      const pub = await c.request({ type: 'publish', room: 'team-b', body: 'x', clientMsgId: 'm1' });
      expect(pub).toMatchObject({ type: 'error', code: 'forbidden' });
      await c.close();
    });

    it('publish before join is not_joined', async () => {
      const c = await wsClient(gw.url, { token: await token('nj') });
      expect(await c.request({ type: 'publish', room: room(), body: 'x', clientMsgId: 'm' })).toMatchObject({
        code: 'not_joined',
      });
      await c.close();
    });

    it('acks after storage, delivers with seq/prev, and dedupes a retried clientMsgId', async () => {
      const r = room();
      const a = await wsClient(gw.url, { token: await token('alice') });
      const b = await wsClient(gw.url, { token: await token('bob') });
      await a.request({ type: 'join', room: r });
      await b.request({ type: 'join', room: r });
      const ack1 = await a.request({ type: 'publish', room: r, body: 'hello', clientMsgId: 'c1' });
      const ack2 = await a.request({
        type: 'publish',
        room: r,
        body: { kind: 'card', n: 1 },
        clientMsgId: 'c2',
      });
      const dup = await a.request({ type: 'publish', room: r, body: 'hello', clientMsgId: 'c1' });
      expect(ack1).toMatchObject({ type: 'ack', room: r, duplicate: false });
      expect(dup).toMatchObject({ type: 'ack', seq: (ack1 as { seq: number }).seq, duplicate: true });
      const m2 = await b.waitFor((f) => f.type === 'message' && f.clientMsgId === 'c2');
      expect(m2).toMatchObject({
        from: 'alice',
        body: { kind: 'card', n: 1 },
        seq: (ack2 as { seq: number }).seq,
      });
      expect((m2 as { prev: number }).prev).toBe((ack1 as { seq: number }).seq);
      // The duplicate was not delivered again: a later message arrives right after c2.
      await a.request({ type: 'publish', room: r, body: 'after', clientMsgId: 'c3' });
      await b.waitFor((f) => f.type === 'message' && f.clientMsgId === 'c3');
      expect(b.ofType('message').map((m) => m.clientMsgId)).toEqual(['c1', 'c2', 'c3']);
      await Promise.all([a.close(), b.close()]);
    });

    it('join with since replays what was missed, then joined, then live', async () => {
      const r = room();
      const a = await wsClient(gw.url, { token: await token('writer') });
      const { epoch } = (await a.request({ type: 'join', room: r })) as { epoch: string };
      // A cursor at a stored message: the window proves coverage (a zero cursor may need history).
      const first = (await a.request({ type: 'publish', room: r, body: 'first', clientMsgId: 'k0' })) as {
        seq: number;
      };
      const joined = { seq: first.seq, epoch };
      for (let i = 0; i < 5; i++)
        await a.request({ type: 'publish', room: r, body: `m${i}`, clientMsgId: `k${i + 1}` });
      const b = await wsClient(gw.url, { token: await token('reader') });
      const reply = await b.request({ type: 'join', room: r, since: joined.seq, epoch: joined.epoch });
      expect(reply).toMatchObject({ type: 'joined', recovered: true });
      const replayed = b.ofType('message');
      expect(replayed.map((m) => m.body)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect(replayed[0]?.prev).toBe(joined.seq);
      const staleEpoch = await b.request({ type: 'join', room: room(), since: 3, epoch: 'not-the-epoch' });
      expect(staleEpoch).toMatchObject({ type: 'joined', recovered: false });
      await Promise.all([a.close(), b.close()]);
    });
  });
}
