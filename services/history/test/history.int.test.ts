/**
 * The pipeline on the shared real servers (NATS JetStream, Kafka KRaft, Mongo-wire): 10,000 messages
 * over 50 rooms reach Mongo exactly once and page back in order; a poison record is dead-lettered
 * while its partition keeps flowing; the HTTP API and history.query answer from Mongo.
 */
import { DEV_SECRET, signToken } from '@parley/auth';
import { type ChatMessage, encodeChatPayload, Subjects } from '@parley/protocol';
import type { InRecord } from '@parley/stream';
import { eventually, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectExactlyAcked, key, type RealHistory, startRealHistory } from './harness.ts';

const urls = {
  natsUrl: inject('natsUrl'),
  kafkaBrokers: inject('kafkaBrokers'),
  mongoUrl: inject('mongoUrl'),
};

describe('history pipeline on real NATS, Kafka and Mongo', () => {
  const prefix = uniquePrefix('hist');
  let h: RealHistory;
  beforeAll(async () => {
    h = await startRealHistory(urls, prefix);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('persists 10,000 messages over 50 rooms exactly once, seq-ordered, and pages them back', async () => {
    const rooms = Array.from({ length: 50 }, (_, i) => `${prefix}-r${i}`);
    const acked = new Set<string>();
    const perRoom = new Map<string, number[]>(rooms.map((r) => [r, []]));
    const t0 = Date.now();
    for (let start = 0; start < 10_000; start += 500) {
      await Promise.all(
        Array.from({ length: 500 }, async (_, j) => {
          const i = start + j;
          const room = rooms[i % 50]!;
          const payload = encodeChatPayload({
            msgId: `m${i}`,
            from: `u${i % 7}`,
            body: `b${i}`,
            ts: Date.now(),
            clientMsgId: `c${i}`,
          });
          const { seq } = await h.bus.chat.append(room, payload, `${prefix}:${i}`);
          acked.add(key(room, seq));
          perRoom.get(room)!.push(seq);
        }),
      );
    }
    const appendedMs = Date.now() - t0;
    await expectExactlyAcked(h.mongo, rooms, acked, 90_000);
    console.log(`10,000 appended in ${appendedMs} ms, all in Mongo after ${Date.now() - t0} ms`);

    const room = rooms[3]!;
    const seqs = perRoom.get(room)!.sort((a, b) => a - b);
    const pages: ChatMessage[][] = [];
    let before: number | undefined;
    for (;;) {
      const req = { op: 'page', room, before, limit: 50 };
      const msg = await h.bus.request(Subjects.historyQuery, JSON.stringify(req), { timeoutMs: 5_000 });
      const reply = JSON.parse(msg.string());
      expect(reply.ok).toBe(true);
      pages.unshift(reply.result.messages);
      if (!reply.result.more) break;
      before = reply.result.messages[0].seq;
    }
    const all = pages.flat();
    expect(all.map((m) => m.seq)).toEqual(seqs);
    expect(all.map((m) => m.prev)).toEqual([0, ...seqs.slice(0, -1)]);
    expect(pages).toHaveLength(4);

    const token = await signToken(DEV_SECRET, { sub: 'ops', scope: 'admin' });
    const res = await fetch(
      `http://127.0.0.1:${h.service.port}/v1/rooms/${room}/messages?limit=10&before=${seqs[100]}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.messages.map((m: ChatMessage) => m.seq)).toEqual(seqs.slice(90, 100));
    expect(body.more).toBe(true);
  });

  it('dead-letters a poison record and keeps its partition flowing', async () => {
    const room = `${prefix}-poison`;
    const dead: InRecord[] = [];
    const dlq = await h.stream.consume(
      { group: `${prefix}-dlq`, topics: [`${prefix}.chat.messages.dead`] },
      async (batch) => {
        dead.push(...batch);
      },
    );
    // Same key as the room: the poison sits in the room's partition, ahead of its next message.
    await h.stream.send(`${prefix}.chat.messages`, [{ key: room, value: '{"room":' }]);
    const payload = encodeChatPayload({
      msgId: 'after',
      from: 'a',
      body: 'x',
      ts: Date.now(),
      clientMsgId: 'c',
    });
    const { seq } = await h.bus.chat.append(room, payload, `${prefix}:after-poison`);
    await eventually(
      async () => {
        const m = await h.bus.request(Subjects.historyQuery, JSON.stringify({ op: 'last', room }), {
          timeoutMs: 2_000,
        });
        expect(JSON.parse(m.string()).result.seq).toBe(seq);
      },
      { timeoutMs: 30_000 },
    );
    await eventually(() => expect(dead.map((r) => r.value)).toEqual(['{"room":']), { timeoutMs: 30_000 });
    expect(dead[0]?.headers?.error).toBe('value: not JSON');
    expect(dead[0]?.key).toBe(room);
    await dlq.stop();
  });

  it('refuses bad queries with 400/401/403 and a JSON error naming the problem', async () => {
    const admin = await signToken(DEV_SECRET, { sub: 'ops', scope: 'admin' });
    const user = await signToken(DEV_SECRET, { sub: 'bob', rooms: ['*'] });
    const forged = await signToken('another-secret-of-at-least-32-chars!!', { sub: 'ops', scope: 'admin' });
    const room = `${prefix}-r3`;
    const get = async (path: string, token?: string) => {
      const res = await fetch(`http://127.0.0.1:${h.service.port}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      expect(res.headers.get('content-type')).toBe('application/json');
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    const cases: [path: string, token: string | undefined, status: number, error: RegExp][] = [
      [`/v1/rooms/${encodeURIComponent('bad room!')}/messages`, admin, 400, /^room: /],
      [`/v1/rooms/${'x'.repeat(200)}/messages`, admin, 400, /^room: /],
      [`/v1/rooms/%E0%A4%A/messages`, admin, 400, /^room: bad percent-encoding/],
      [`/v1/rooms/${room}/messages?limit=-1`, admin, 400, /^limit: must be an integer between 1 and 1000/],
      [`/v1/rooms/${room}/messages?limit=0`, admin, 400, /^limit: /],
      [
        `/v1/rooms/${room}/messages?limit=1000000`,
        admin,
        400,
        /^limit: must be an integer between 1 and 1000/,
      ],
      [`/v1/rooms/${room}/messages?before=abc`, admin, 400, /^before: must be an integer/],
      [`/v1/rooms/${room}/messages?before=-5`, admin, 400, /^before: /],
      [`/v1/rooms/${room}/messages`, undefined, 401, /^authorization: /],
      [`/v1/rooms/${room}/messages`, 'not.a.jwt', 401, /^authorization: /],
      [`/v1/rooms/${room}/messages`, forged, 401, /^authorization: /],
      [`/v1/rooms/${room}/messages`, user, 403, /^authorization: admin scope required/],
    ];
    for (const [path, token, status, error] of cases) {
      const got = await get(path, token);
      expect({ path, status: got.status }).toEqual({ path, status });
      expect(got.error).toMatch(error);
    }
    // history.query (the gateway's path) refuses the same input with bad_request naming the field.
    const ask = async (req: unknown) =>
      JSON.parse(
        (await h.bus.request(Subjects.historyQuery, JSON.stringify(req), { timeoutMs: 5_000 })).string(),
      );
    expect(await ask({ op: 'page', room: 'bad room!', limit: 50 })).toMatchObject({
      ok: false,
      code: 'bad_request',
      message: expect.stringMatching(/^room: /),
    });
    expect(await ask({ op: 'page', room, limit: -1 })).toMatchObject({
      ok: false,
      code: 'bad_request',
      message: expect.stringMatching(/^limit: /),
    });
  });

  it('answers unread for 100 rooms in one request, fast', async () => {
    const rooms = Array.from({ length: 100 }, (_, i) => `${prefix}-r${i % 50}${i >= 50 ? 'x' : ''}`);
    const ask = async (req: unknown) =>
      JSON.parse(
        (await h.bus.request(Subjects.historyQuery, JSON.stringify(req), { timeoutMs: 5_000 })).string(),
      );
    // Marker on rooms[0]'s 10th message: 190 unread there (stream seqs are shared by all rooms, so
    // the seq is looked up, not assumed).
    const first = await ask({ op: 'page', room: rooms[0], limit: 200 });
    const tenth = first.result.messages[9].seq as number;
    expect((await ask({ op: 'read', user: 'u1', room: rooms[0], seq: tenth })).ok).toBe(true);
    const times: number[] = [];
    let counts: Record<string, number> = {};
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await ask({ op: 'unread', user: 'u1', rooms });
      times.push(performance.now() - t0);
      counts = r.result.counts;
    }
    console.log(`unread for 100 rooms: ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
    expect(counts[rooms[1]!]).toBe(200);
    expect(counts[rooms[0]!]).toBe(190);
    expect(counts[rooms[50]!]).toBe(0);
    expect(Math.min(...times)).toBeLessThan(1_000);
  });
});
