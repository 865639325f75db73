/**
 * The pipeline on the shared real servers (NATS JetStream, Kafka KRaft, Mongo-wire): 10,000 messages
 * published by WebSocket clients through a gateway over 50 rooms reach Mongo exactly once and page
 * back in order; a poison record is dead-lettered while its partition keeps flowing; the HTTP API
 * and history.query answer from Mongo.
 */
import { DEV_SECRET, signToken } from '@parley/auth';
import { type ChatMessage, encodeChatPayload, Subjects } from '@parley/protocol';
import type { InRecord } from '@parley/stream';
import { eventually, type ServerHandle, startNats, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Published, publishThroughGateway, startTestGateway } from './gateway.ts';
import { expectExactlyAcked, key, type RealHistory, startRealHistory } from './harness.ts';

const shared = {
  kafkaBrokers: inject('kafkaBrokers'),
  mongoUrl: inject('mongoUrl'),
};

describe('history pipeline on real NATS, Kafka and Mongo', () => {
  const prefix = uniquePrefix('hist');
  let nats: ServerHandle;
  let h: RealHistory;
  let gateway: { url: string; stop(): Promise<void> };
  /** The rooms the gateway test filled, 200 messages each (the unread test reads them). */
  let rooms: string[] = [];
  const ask = async (req: unknown) =>
    JSON.parse(
      (await h.bus.request(Subjects.historyQuery, JSON.stringify(req), { timeoutMs: 10_000 })).string(),
    );
  beforeAll(async () => {
    // A private nats-server: on the shared one, other runs' history instances are in the same
    // `history.query` queue group and would answer some of these queries from their databases.
    nats = await startNats({ own: true });
    h = await startRealHistory({ ...shared, natsUrl: nats.url }, prefix);
    gateway = await startTestGateway(nats.url);
  });
  afterAll(async () => {
    await gateway?.stop();
    await h?.stop();
    await nats?.[Symbol.asyncDispose]();
  });

  it('persists 10,000 messages published through a gateway exactly once, seq-ordered, and pages them back', async () => {
    // Fresh rooms per attempt: a retried attempt must not find the first one's messages.
    const run = uniquePrefix('gw');
    rooms = Array.from({ length: 50 }, (_, i) => `${run}-r${i}`);
    const t0 = Date.now();
    const acks = await publishThroughGateway(gateway.url, rooms);
    const publishedMs = Date.now() - t0;
    const acked = new Set([...acks.values()].map((a) => key(a.room, a.seq)));
    expect(acked.size).toBe(10_000);
    await expectExactlyAcked(h.mongo, rooms, acked, 90_000);
    console.log(
      `10,000 published through the gateway in ${publishedMs} ms, all in Mongo after ${Date.now() - t0} ms`,
    );

    // Every room, one history.query page of all its messages: the acked seqs in order, prev
    // chained, and each message as it was published.
    const sent = new Map<string, Published>();
    for (const a of acks.values()) sent.set(key(a.room, a.seq), a);
    const seqsOf = (room: string) =>
      [...acks.values()]
        .filter((a) => a.room === room)
        .map((a) => a.seq)
        .sort((x, y) => x - y);
    for (const room of rooms) {
      const seqs = seqsOf(room);
      expect(seqs).toHaveLength(200);
      const reply = await ask({ op: 'page', room, limit: 1000 });
      expect(reply.ok).toBe(true);
      const messages = reply.result.messages as ChatMessage[];
      expect(messages.map((m) => m.seq)).toEqual(seqs);
      expect(messages.map((m) => m.prev)).toEqual([0, ...seqs.slice(0, -1)]);
      for (const m of messages) {
        const p = sent.get(key(room, m.seq))!;
        expect({ from: m.from, body: m.body, clientMsgId: m.clientMsgId, msgId: m.msgId }).toEqual({
          from: p.from,
          body: p.body,
          clientMsgId: p.clientMsgId,
          msgId: p.msgId,
        });
      }
      expect(reply.result.more).toBe(false);
    }

    // Paging backwards with `before`, 50 at a time: four pages that join up with the right prev.
    const room = rooms[3]!;
    const seqs = seqsOf(room);
    const pages: ChatMessage[][] = [];
    let before: number | undefined;
    for (;;) {
      const reply = await ask({ op: 'page', room, before, limit: 50 });
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
    expect(body.messages.map((m: ChatMessage) => m.prev)).toEqual(seqs.slice(89, 99));
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

  it('answers unread for 100 rooms in one request', async () => {
    // The gateway test's 50 rooms (200 messages each) and 50 rooms nobody wrote to. How long this
    // takes is measured by the bench (bench/pipeline.ts), not asserted here.
    expect(rooms).toHaveLength(50);
    const asked = [...rooms, ...rooms.map((r) => `${r}x`)];
    // Marker on the first room's 10th message: 190 unread there (stream seqs are shared by all
    // rooms, so the seq is looked up, not assumed).
    const first = await ask({ op: 'page', room: asked[0], limit: 200 });
    const tenth = first.result.messages[9].seq as number;
    expect((await ask({ op: 'read', user: 'u1', room: asked[0], seq: tenth })).ok).toBe(true);
    const r = await ask({ op: 'unread', user: 'u1', rooms: asked });
    expect(r.ok).toBe(true);
    const counts = r.result.counts as Record<string, number>;
    expect(Object.keys(counts).sort()).toEqual([...asked].sort());
    expect(counts[asked[1]!]).toBe(200);
    expect(counts[asked[0]!]).toBe(190);
    expect(counts[asked[50]!]).toBe(0);
  });
});
