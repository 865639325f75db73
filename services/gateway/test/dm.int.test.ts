/**
 * Issue 8 on the real stack (gateway + history + presence + notify in one process on real NATS,
 * Kafka and the Mongo-wire server): user-limited rooms keep out everyone not on their list, on every
 * frame and over HTTP; their members get in whatever their token patterns say; non-canonical ids
 * are refused naming the canonical one; ids that are not subject-safe work; mentions reach members
 * only, once; display names propagate.
 *
 * Room ids are the literal ones of the issue (`dm#alice,bob`): stream CHAT is shared by the files
 * of one run, so assertions are about this file's own seqs and msgIds, never about a room's total.
 */
import { KafkaTopics } from '@parley/protocol';
import { createKafkaStream, type EventStream, type InRecord } from '@parley/stream';
import { eventually, type WsClient, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DmStack, devToken, errorCode, startDmStack } from './dm.stack.ts';
import { startGateway } from './harness.ts';

const DM = 'dm#alice,bob';
/** Token patterns that match no user-limited room: membership alone must let alice and bob in. */
const NARROW = { rooms: ['team-*'], pub: ['team-*'] };

type Frame = Record<string, unknown> & { type: string };
const asFrame = (f: unknown) => f as Frame;

let stack: DmStack;
let alice: WsClient;
let bob: WsClient;
let carol: WsClient;
let epoch: string;
/** The seqs of the two messages every member test starts from. */
let s1 = 0;
let s2 = 0;
let run = '';

beforeAll(async () => {
  stack = await startDmStack({
    natsUrl: inject('natsUrl'),
    kafkaBrokers: inject('kafkaBrokers'),
    mongoUrl: inject('mongoUrl'),
  });
  run = stack.prefix;
  alice = await stack.connect('alice', NARROW);
  bob = await stack.connect('bob', NARROW);
  carol = await stack.connect('carol', { rooms: ['*'] });
  // The first join on a fresh stack waits for JetStream (the services are creating their streams
  // and consumers meanwhile): give it longer than the 5 s default, and report how long it took.
  const tj = performance.now();
  const joinedA = asFrame(await alice.request({ type: 'join', room: DM }, 20_000));
  console.log(`first join on the fresh stack: ${(performance.now() - tj).toFixed(0)} ms`);
  expect(joinedA).toMatchObject({ type: 'joined', room: DM });
  epoch = joinedA.epoch as string;
  expect(await bob.request({ type: 'join', room: DM })).toMatchObject({ type: 'joined', room: DM });
  const a1 = asFrame(
    await alice.request({ type: 'publish', room: DM, body: `hi bob ${run}`, clientMsgId: `${run}-1` }),
  );
  expect(a1).toMatchObject({ type: 'ack', room: DM, duplicate: false });
  s1 = a1.seq as number;
  const b1 = asFrame(
    await bob.request({ type: 'publish', room: DM, body: `hi alice ${run}`, clientMsgId: `${run}-2` }),
  );
  expect(b1).toMatchObject({ type: 'ack', room: DM });
  s2 = b1.seq as number;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('members of dm#alice,bob (token patterns that do not match it)', () => {
  it('publish reaches both members live, with from and seq', async () => {
    for (const c of [alice, bob]) {
      await c.waitFor((f) => f.type === 'message' && asFrame(f).seq === s1);
      const m = asFrame(await c.waitFor((f) => f.type === 'message' && asFrame(f).seq === s2));
      expect(m).toMatchObject({ room: DM, from: 'bob', body: `hi alice ${run}`, prev: s1 });
    }
  });

  it('history (from Mongo through the history service) has both messages', async () => {
    await eventually(
      async () => {
        const h = asFrame(await alice.request({ type: 'history', room: DM, limit: 100 }));
        expect(h.type).toBe('history');
        const seqs = (h.messages as { seq: number }[]).map((m) => m.seq);
        expect(seqs).toEqual(expect.arrayContaining([s1, s2]));
      },
      { timeoutMs: 30_000, message: 'history holds both messages' },
    );
    const h = asFrame(await bob.request({ type: 'history', room: DM, before: s2, limit: 1 }));
    expect((h.messages as { seq: number; from: string }[]).map((m) => [m.seq, m.from])).toEqual([
      [s1, 'alice'],
    ]);
  });

  it('recovery: a second device joining with since replays what came after, recovered', async () => {
    const bob2 = await stack.connect('bob', NARROW);
    const joined = asFrame(await bob2.request({ type: 'join', room: DM, since: s1, epoch }));
    expect(joined).toMatchObject({ type: 'joined', room: DM, recovered: true });
    const replayed = bob2.ofType('message').map((m) => asFrame(m).seq);
    expect(replayed[0]).toBe(s2);
    await bob2.close();
  });

  it('read and unread: the marker moves and the count follows it', async () => {
    expect(await bob.request({ type: 'read', room: DM, seq: s2 })).toMatchObject({ type: 'ok' });
    await alice.waitFor((f) => f.type === 'read' && asFrame(f).userId === 'bob' && asFrame(f).seq === s2);
    expect(await bob.request({ type: 'unread', rooms: [DM] })).toMatchObject({
      type: 'unread',
      counts: { [DM]: 0 },
    });
    const a3 = asFrame(
      await alice.request({ type: 'publish', room: DM, body: `more ${run}`, clientMsgId: `${run}-3` }),
    );
    await eventually(
      async () =>
        expect(await bob.request({ type: 'unread', rooms: [DM] })).toMatchObject({ counts: { [DM]: 1 } }),
      { timeoutMs: 30_000, message: `bob's unread count sees seq ${String(a3.seq)}` },
    );
  });

  it('presence lists both members to a member', async () => {
    await eventually(
      async () => {
        const p = asFrame(await alice.request({ type: 'presence', room: DM }));
        expect(p.type).toBe('presence');
        expect((p.users as { userId: string }[]).map((u) => u.userId).sort()).toEqual(['alice', 'bob']);
      },
      { timeoutMs: 10_000, message: 'presence of the DM' },
    );
  });

  it("the DM is in both members' conversation lists", async () => {
    await eventually(
      async () => {
        for (const c of [alice, bob]) {
          const list = asFrame(await c.request({ type: 'conversations', limit: 50 }));
          expect((list.items as { room: string }[]).map((i) => i.room)).toContain(DM);
        }
      },
      { timeoutMs: 30_000, message: 'conversations list the DM' },
    );
  });
});

describe('a third user (carol, token rooms "*") is refused on every frame', () => {
  const frames: [string, Record<string, unknown>][] = [
    ['join', { type: 'join', room: DM }],
    ['join with since (recover)', { type: 'join', room: DM, since: 0 }],
    ['join with since and epoch (recover)', { type: 'join', room: DM, since: 1, epoch: 'x' }],
    ['publish', { type: 'publish', room: DM, body: 'let me in', clientMsgId: 'c1' }],
    ['history', { type: 'history', room: DM }],
    ['history with before', { type: 'history', room: DM, before: 1000, limit: 5 }],
    ['presence', { type: 'presence', room: DM }],
    ['read', { type: 'read', room: DM, seq: 1 }],
    ['unread', { type: 'unread', rooms: [DM] }],
    ['unread among allowed rooms', { type: 'unread', rooms: ['lobby', DM] }],
    ['typing', { type: 'typing', room: DM, on: true }],
    ['leave', { type: 'leave', room: DM }],
  ];
  for (const [label, frame] of frames) {
    it(`${label}: forbidden`, async () => {
      const r = asFrame(await carol.request(frame));
      expect(r).toMatchObject({ type: 'error', code: 'forbidden' });
    });
  }

  it('an admin-scoped token with every pattern is refused too: the member list is the whole rule', async () => {
    const admin = await stack.connect('carol', { rooms: ['*'], scope: 'admin' });
    expect(errorCode(asFrame(await admin.request({ type: 'join', room: DM })))).toBe('forbidden');
    expect(errorCode(asFrame(await admin.request({ type: 'history', room: DM })))).toBe('forbidden');
    await admin.close();
  });

  it('carol saw nothing of the room and it is not in her conversation list', async () => {
    alice.send({ type: 'typing', room: DM, on: true });
    await bob.waitFor((f) => f.type === 'typing' && asFrame(f).userId === 'alice');
    const leaked = carol.frames.filter((f) => JSON.stringify(f).includes(DM) && f.type !== 'error');
    expect(leaked).toEqual([]);
    const list = asFrame(await carol.request({ type: 'conversations' }));
    expect((list.items as { room: string }[]).map((i) => i.room)).not.toContain(DM);
  });
});

describe('HTTP APIs: admin tokens read everything, anyone else gets 401/403', () => {
  const get = async (url: string, token?: string) => {
    const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const path = (base: string, kind: 'messages' | 'presence', room = DM) =>
    `${base}/v1/rooms/${encodeURIComponent(room)}/${kind}`;

  it('history GET /v1/rooms/{room}/messages', async () => {
    const url = path(stack.http.history, 'messages');
    expect((await get(url)).status).toBe(401);
    for (const who of ['carol', 'alice']) {
      const r = await get(url, await devToken(who, { rooms: ['*'] }));
      expect(r.status, who).toBe(403);
      expect(JSON.stringify(r.json)).not.toContain(run);
    }
    const admin = await devToken('ops', { scope: 'admin' });
    await eventually(
      async () => {
        const r = await get(`${url}?limit=100`, admin);
        expect(r.status).toBe(200);
        const seqs = (r.json.messages as { seq: number }[]).map((m) => m.seq);
        expect(seqs).toEqual(expect.arrayContaining([s1, s2]));
      },
      { timeoutMs: 30_000, message: 'admin reads the DM over HTTP' },
    );
    const bad = await get(path(stack.http.history, 'messages', 'dm#bob,alice'), admin);
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain(`"${DM}"`);
  });

  it('presence GET /v1/rooms/{room}/presence', async () => {
    const url = path(stack.http.presence, 'presence');
    expect((await get(url)).status).toBe(401);
    for (const who of ['carol', 'alice']) {
      const r = await get(url, await devToken(who, { rooms: ['*'] }));
      expect(r.status, who).toBe(403);
      expect(JSON.stringify(r.json)).not.toContain('bob');
    }
    const r = await get(url, await devToken('ops', { scope: 'admin' }));
    expect(r.status).toBe(200);
    expect((r.json.users as { userId: string }[]).map((u) => u.userId).sort()).toEqual(['alice', 'bob']);
  });
});

describe('dm#bob,alice: bad_request naming dm#alice,bob, connection stays open', () => {
  const WRONG = 'dm#bob,alice';
  const frames: Record<string, unknown>[] = [
    { type: 'join', room: WRONG },
    { type: 'join', room: WRONG, since: 1 },
    { type: 'publish', room: WRONG, body: 'x', clientMsgId: 'w1' },
    { type: 'history', room: WRONG },
    { type: 'presence', room: WRONG },
    { type: 'read', room: WRONG, seq: 1 },
    { type: 'unread', rooms: [WRONG] },
    { type: 'typing', room: WRONG, on: true },
    { type: 'leave', room: WRONG },
  ];
  for (const frame of frames) {
    it(`${String(frame.type)}${'since' in frame ? ' with since' : ''}`, async () => {
      for (const c of [alice, carol]) {
        const r = asFrame(await c.request(frame));
        expect(r).toMatchObject({ type: 'error', code: 'bad_request' });
        expect(r.message).toContain(`"${DM}"`);
      }
      expect(await alice.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    });
  }
});

describe('user ids that are not subject-safe', () => {
  const ANN = 'ann.lee@x.io';
  const ROOM = `dm#${ANN},bob`;

  it(`${ROOM}: join, publish, live delivery, history, presence; carol refused`, async () => {
    const ann = await stack.connect(ANN, NARROW);
    const bob2 = await stack.connect('bob', NARROW);
    expect(await ann.request({ type: 'join', room: ROOM })).toMatchObject({ type: 'joined', room: ROOM });
    expect(await bob2.request({ type: 'join', room: ROOM })).toMatchObject({ type: 'joined', room: ROOM });
    const ack = asFrame(
      await ann.request({ type: 'publish', room: ROOM, body: `hello ${run}`, clientMsgId: `${run}-ann` }),
    );
    expect(ack).toMatchObject({ type: 'ack', room: ROOM });
    const got = asFrame(await bob2.waitFor((f) => f.type === 'message' && asFrame(f).seq === ack.seq));
    expect(got).toMatchObject({ room: ROOM, from: ANN, body: `hello ${run}` });
    await eventually(
      async () => {
        const h = asFrame(await bob2.request({ type: 'history', room: ROOM }));
        expect((h.messages as { seq: number; from: string }[]).find((m) => m.seq === ack.seq)?.from).toBe(
          ANN,
        );
        const p = asFrame(await ann.request({ type: 'presence', room: ROOM }));
        expect((p.users as { userId: string }[]).map((u) => u.userId).sort()).toEqual([ANN, 'bob']);
      },
      { timeoutMs: 30_000, message: 'history and presence of the encoded room' },
    );
    // A mention of an e-mail id in the DM reaches that member (and not `ann.lee`, a stranger).
    const ment = asFrame(
      await bob2.request({
        type: 'publish',
        room: ROOM,
        body: `@${ANN}, @ann.lee: ${run}`,
        clientMsgId: `${run}-ann-m`,
      }),
    );
    const note = asFrame(
      await ann.waitFor(
        (f) => f.type === 'notification' && JSON.stringify(f).includes(`"seq":${String(ment.seq)}`),
        30_000,
        'the mention of an e-mail id',
      ),
    );
    expect(note.notification).toMatchObject({ data: { kind: 'mention', room: ROOM, from: 'bob' } });
    // Not a prefix or decoding accident: a user whose id is a prefix of ann's is still a stranger.
    const ann2 = await stack.connect('ann.lee', { rooms: ['*'] });
    expect(errorCode(asFrame(await ann2.request({ type: 'join', room: ROOM })))).toBe('forbidden');
    expect(errorCode(asFrame(await carol.request({ type: 'history', room: ROOM })))).toBe('forbidden');
    const inbox = asFrame(await ann2.waitFor((f) => f.type === 'notifications'));
    expect(JSON.stringify(inbox.unread)).not.toContain(run);
    expect(ann2.ofType('notification')).toEqual([]);
    await Promise.all([ann.close(), bob2.close(), ann2.close()]);
  });
});

describe('mentions inside a DM reach members only, once', () => {
  let kafka: EventStream;
  beforeAll(async () => {
    kafka = createKafkaStream({ brokers: inject('kafkaBrokers').split(','), clientId: `${run}-redeliver` });
    await kafka.start();
  });
  afterAll(async () => {
    await kafka?.stop();
  });

  const mentionsOf = (c: WsClient, seq: number) =>
    c
      .ofType('notification')
      .map((f) => asFrame(f).notification as { data: { room: string; seq: number } })
      .filter((n) => n.data.room === DM && n.data.seq === seq);

  it('@carol creates nothing for carol; @bob notifies bob exactly once, through a Kafka redelivery', async () => {
    const toCarol = asFrame(
      await alice.request({
        type: 'publish',
        room: DM,
        body: `@carol ${run} you cannot see this`,
        clientMsgId: `${run}-mc`,
      }),
    );
    const toBob = asFrame(
      await alice.request({ type: 'publish', room: DM, body: `@bob ${run} look`, clientMsgId: `${run}-mb` }),
    );
    const seqBob = toBob.seq as number;
    const n = asFrame(
      await bob.waitFor(
        (f) => f.type === 'notification' && mentionsOf(bob, seqBob).length > 0,
        30_000,
        'the mention notification',
      ),
    );
    expect(n.notification).toMatchObject({ data: { kind: 'mention', room: DM, seq: seqBob, from: 'alice' } });

    // Redeliver the @bob record (what an at-least-once bridge does after a crash before its ack),
    // then a sentinel mention in the same room: same key, same partition, so once the sentinel
    // arrives the duplicate has been consumed.
    const original = await findChatRecord(kafka, run, DM, seqBob);
    await kafka.send(KafkaTopics.chatMessages, [{ key: original.key, value: original.value }]);
    const sentinel = asFrame(
      await alice.request({
        type: 'publish',
        room: DM,
        body: `@bob ${run} sentinel`,
        clientMsgId: `${run}-ms`,
      }),
    );
    await bob.waitFor(
      (f) => f.type === 'notification' && mentionsOf(bob, sentinel.seq as number).length > 0,
      30_000,
      'the sentinel notification',
    );
    expect(mentionsOf(bob, seqBob)).toHaveLength(1);
    expect(mentionsOf(carol, toCarol.seq as number)).toEqual([]);

    // The inboxes: bob's holds one row for the message, carol's none (a new connection is sent the
    // user's unread notifications right after welcome).
    const inbox = async (user: string) => {
      const c = await stack.connect(user, { rooms: ['*'] });
      const f = asFrame(await c.waitFor((x) => x.type === 'notifications'));
      await c.close();
      return (f.unread as { data: { room: string; seq: number } }[]).filter((x) => x.data.room === DM);
    };
    expect((await inbox('bob')).filter((x) => x.data.seq === seqBob)).toHaveLength(1);
    expect(await inbox('carol')).toEqual([]);
    // And the store itself: one row per (message, mentioned member), none for carol.
    const stored = await stack.mongo.db
      .collection<{ _id: string; user: string }>('notifications')
      .find({ user: { $in: ['bob', 'carol'] } })
      .toArray();
    const rows = stored.map((d) => d._id).filter((id) => id.startsWith(`mention:${DM}:`));
    expect(rows.filter((id) => id.endsWith(':carol'))).toEqual([]);
    expect(rows.filter((id) => id === `mention:${DM}:${seqBob}:bob`)).toHaveLength(1);
  });
});

/** Reads chat.messages from the beginning with a fresh group until the record of (room, seq) appears. */
async function findChatRecord(kafka: EventStream, run: string, room: string, seq: number): Promise<InRecord> {
  let found: InRecord | undefined;
  const consumer = await kafka.consume(
    { group: `${run}-finder`, topics: [KafkaTopics.chatMessages] },
    async (batch) => {
      for (const r of batch) {
        if (r.key !== room) continue;
        const v = JSON.parse(r.value) as { seq: number };
        if (v.seq === seq) found = r;
      }
    },
  );
  try {
    await eventually(
      async () => {
        if (!found) throw new Error('not yet');
      },
      { timeoutMs: 30_000, message: `record ${room}/${seq} on chat.messages` },
    );
  } finally {
    await consumer.stop();
  }
  return found as InRecord;
}

describe('display names', () => {
  it('profile renames every live connection of the user (two devices, two gateways); members see it within a second; messages carry it', async () => {
    const second = await startGateway({ natsUrl: inject('natsUrl') });
    try {
      const phone = await stack.connect('alice', NARROW);
      const laptop = await wsClient(second.url, { token: await devToken('alice', NARROW) });
      for (const c of [phone, laptop])
        expect(await c.request({ type: 'join', room: DM })).toMatchObject({ type: 'joined' });
      const name = `Alice ${run}`;
      const t0 = performance.now();
      expect(await phone.request({ type: 'profile', name })).toMatchObject({ type: 'ok' });
      const update = await bob.waitFor(
        (f) => f.type === 'presence.update' && asFrame(f).userId === 'alice' && asFrame(f).name === name,
        1000,
        'presence.update with the new name within a second',
      );
      const ms = performance.now() - t0;
      console.log(`profile -> presence.update at another member: ${ms.toFixed(1)} ms`);
      expect(update).toMatchObject({ room: DM });
      // Every device, including the one on the other gateway and the one that did not send the frame.
      await eventually(
        async () => {
          const ids = [`${run}-n1`, `${run}-n2`, `${run}-n3`];
          const devices = [alice, phone, laptop];
          const acks = await Promise.all(
            devices.map((c, i) =>
              c.request({
                type: 'publish',
                room: DM,
                body: `named ${i}`,
                clientMsgId: `${ids[i]}-${Date.now()}`,
              }),
            ),
          );
          const seqs = acks.map((a) => asFrame(a).seq);
          const got = await Promise.all(
            seqs.map((seq) => bob.waitFor((f) => f.type === 'message' && asFrame(f).seq === seq)),
          );
          expect(got.map((m) => asFrame(m).name)).toEqual([name, name, name]);
        },
        { timeoutMs: 5000, message: 'every device publishes under the new name' },
      );
      await eventually(
        async () => {
          const h = asFrame(await bob.request({ type: 'history', room: DM, limit: 3 }));
          expect((h.messages as { name?: string }[]).map((m) => m.name)).toEqual([name, name, name]);
        },
        { timeoutMs: 30_000, message: 'stored messages carry the name' },
      );
      await laptop.close();
    } finally {
      await second.stop();
    }
  });

  it('names are data: markup and non-Latin text pass through verbatim', async () => {
    for (const name of ['<img src=x onerror=alert(1)>', 'Zoë 山田 🙂', 'x'.repeat(64)]) {
      expect(await alice.request({ type: 'profile', name })).toMatchObject({ type: 'ok' });
      await bob.waitFor((f) => f.type === 'presence.update' && asFrame(f).name === name, 2000, name);
    }
  });

  const bad: [string, unknown][] = [
    ['empty', ''],
    ['65 characters', 'x'.repeat(65)],
    ['a control character', 'al\u0007ice'],
    ['a newline', 'al\nice'],
    ['a bidi override', 'al\u202Eice'],
    ['only spaces', '   '],
    ['not a string', 42],
    ['missing', undefined],
  ];
  for (const [label, name] of bad) {
    it(`bad name (${label}): bad_request, name unchanged`, async () => {
      const good = `Good ${run}`;
      expect(await alice.request({ type: 'profile', name: good })).toMatchObject({ type: 'ok' });
      const r = asFrame(await alice.request({ type: 'profile', name }));
      expect(r).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(r.message).toMatch(/name/);
      const ack = asFrame(
        await alice.request({ type: 'publish', room: DM, body: label, clientMsgId: `${run}-bad-${label}` }),
      );
      const m = asFrame(await bob.waitFor((f) => f.type === 'message' && asFrame(f).seq === ack.seq));
      expect(m.name).toBe(good);
    });
  }
});
