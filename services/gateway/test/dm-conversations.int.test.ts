/**
 * The conversation list on the real stack: 1,000 DMs across 50 users published through the
 * gateway, read markers moved with `read` frames, then every user's list (through `conversations`
 * frames, answered by the history service from Mongo) compared with a model built from the acks:
 * which rooms, most recent first, last seq and message, unread counts, and paging with `before`.
 */
import { canonicalRoomId } from '@parley/protocol';
import { eventually, type WsClient } from '@parley/testkit';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type DmStack, startDmStack } from './dm.stack.ts';

const USERS = 50;
const MESSAGES = 1000;
const PAGE = 7;

interface Sent {
  room: string;
  seq: number;
  from: string;
  body: string;
}
interface Item {
  room: string;
  lastSeq: number;
  unread: number;
  lastMessage: { seq: number; prev: number; from: string; body: string } | null;
}
type Frame = Record<string, unknown> & { type: string };

let stack: DmStack;
let users: string[] = [];
const conns = new Map<string, WsClient>();
/** Every acked message, and the read markers as the server confirmed them. */
const sent: Sent[] = [];
const markers = new Map<string, number>();

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(8);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const key = (user: string, room: string) => `${user}\u0000${room}`;

beforeAll(async () => {
  // Limits raised so the load is not throttled: this test is about the list, not rate limits.
  stack = await startDmStack(
    { natsUrl: inject('natsUrl'), kafkaBrokers: inject('kafkaBrokers'), mongoUrl: inject('mongoUrl') },
    {
      LIMIT_REQUESTS_PER_SECOND: '5000',
      LIMIT_PUBLISH_PER_SECOND: '5000',
      LIMIT_PUBLISH_BURST: '5000',
      // Every Mongo query is a collection scan on the FerretDB here; give them time under load.
      REQUEST_TIMEOUT: '30s',
    },
  );
  const tag = stack.prefix.slice(1, 7);
  users = Array.from({ length: USERS }, (_, i) => `u${String(i).padStart(2, '0')}.${tag}`);
  // Token patterns that match none of the DMs: membership alone lets them in.
  for (const u of users) conns.set(u, await stack.connect(u, { rooms: ['team-*'] }));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function request(user: string, frame: Record<string, unknown>): Promise<Frame> {
  const r = (await conns.get(user)?.request(frame, 15_000)) as Frame;
  if (r.type === 'error') throw new Error(`${user} ${String(frame.type)}: ${JSON.stringify(r)}`);
  return r;
}

/** Sends `plan` (from, room) in order per sender, senders concurrently; records every ack. */
async function publishAll(plan: { from: string; room: string }[], label: string): Promise<void> {
  const bySender = new Map<string, { from: string; room: string }[]>();
  for (const p of plan) bySender.set(p.from, [...(bySender.get(p.from) ?? []), p]);
  const joined = new Set<string>();
  await Promise.all(
    [...bySender.entries()].map(async ([from, mine]) => {
      for (const [i, p] of mine.entries()) {
        if (!joined.has(key(from, p.room))) {
          joined.add(key(from, p.room));
          await request(from, { type: 'join', room: p.room });
        }
        const body = `${label} ${i} from ${from}`;
        const ack = await request(from, {
          type: 'publish',
          room: p.room,
          body,
          clientMsgId: `${label}-${i}`,
        });
        sent.push({ room: p.room, seq: ack.seq as number, from, body });
      }
    }),
  );
}

/** What the user's list must be: every DM naming them, newest first, unread after their marker. */
function expected(user: string): Item[] {
  const byRoom = new Map<string, Sent[]>();
  for (const m of sent) byRoom.set(m.room, [...(byRoom.get(m.room) ?? []), m]);
  return [...byRoom.entries()]
    .flatMap(([room, ms]): Item[] => {
      const asc = [...ms].sort((a, b) => a.seq - b.seq);
      // A DM is in the list of the users it names; an open room in the lists of its writers,
      // with the writer's own newest message as the entry's last message.
      const dm = room.includes('#');
      const last = dm ? asc.at(-1) : asc.filter((m) => m.from === user).at(-1);
      if (
        !last ||
        (dm &&
          !room
            .slice(room.indexOf('#') + 1)
            .split(',')
            .includes(user))
      )
        return [];
      const marker = markers.get(key(user, room)) ?? 0;
      const prev = asc.filter((m) => m.seq < last.seq).at(-1)?.seq ?? 0;
      return [
        {
          room,
          lastSeq: last.seq,
          unread: Math.min(1000, asc.filter((m) => m.seq > marker).length),
          lastMessage: { seq: last.seq, prev, from: last.from, body: last.body },
        },
      ];
    })
    .sort((a, b) => b.lastSeq - a.lastSeq);
}

/** The fields the model knows (ts, msgId, clientMsgId are not modelled). */
function strip(i: Item): Item {
  const m = i.lastMessage;
  return {
    room: i.room,
    lastSeq: i.lastSeq,
    unread: i.unread,
    lastMessage: m && { seq: m.seq, prev: m.prev, from: m.from, body: m.body },
  };
}

/** The whole list through `conversations` frames, PAGE at a time with `before`. */
async function listAll(user: string): Promise<{ items: Item[]; pages: number[] }> {
  const items: Item[] = [];
  const pages: number[] = [];
  let before: number | undefined;
  for (;;) {
    const r = await request(user, { type: 'conversations', limit: PAGE, ...(before ? { before } : {}) });
    const page = (r.items as Item[]).map(strip);
    items.push(...page);
    pages.push(page.length);
    if (!r.more) return { items, pages };
    before = page.at(-1)?.lastSeq;
    if (pages.length > 200) throw new Error('paging does not end');
  }
}

/** Waits for the pipeline (bridge -> Kafka -> writer) to store every acked message, read from Mongo. */
async function settled(): Promise<void> {
  const wantEntries = users.reduce((n, u) => n + expected(u).length, 0);
  const wantMax = Math.max(...sent.map((m) => m.seq));
  await eventually(
    async () => {
      const docs = await stack.mongo.db
        .collection<{ user: string; room: string; lastSeq: number }>('conversations')
        .find({ user: { $in: users } }, { projection: { _id: 0, lastSeq: 1 } })
        .toArray();
      expect(docs.length).toBe(wantEntries);
      expect(Math.max(...docs.map((d) => d.lastSeq))).toBe(wantMax);
    },
    { timeoutMs: 120_000, intervalMs: 1000, message: 'conversation entries stored' },
  );
}

/**
 * Every user's whole list in one page (limit 100) against the model, then paged PAGE at a time
 * with `before`. The FerretDB used here scans a collection for every query
 * (no index reads), so this is a correctness test, not a speed one: see bench/conversations.ts.
 */
async function expectEveryList(what: string): Promise<void> {
  await settled();
  const t0 = performance.now();
  for (const u of users) {
    const r = await request(u, { type: 'conversations', limit: 100 });
    expect(r.more, u).toBe(false);
    expect((r.items as Item[]).map(strip), `${u}: ${what}`).toEqual(expected(u));
  }
  const t1 = performance.now();
  for (const u of users) {
    const { items, pages } = await listAll(u);
    const want = expected(u);
    expect(items, `${u} paged: ${what}`).toEqual(want);
    // Full pages, then the rest; `more` is false on the last page, so no empty page follows.
    expect(pages.slice(0, -1).every((n) => n === PAGE)).toBe(true);
    expect(pages.length).toBe(Math.ceil(want.length / PAGE));
  }
  const t2 = performance.now();
  console.log(
    `${what}: 50 whole lists in ${(t1 - t0).toFixed(0)} ms, 50 paged lists in ${(t2 - t1).toFixed(0)} ms`,
  );
}

it('1,000 DMs across 50 users (and an open room five of them wrote to): every list complete, newest first, paged, with unread counts', async () => {
  const plan = Array.from({ length: MESSAGES }, () => {
    const a = pick(users);
    const b = pick(users.filter((u) => u !== a));
    return { from: random() < 0.5 ? a : b, room: canonicalRoomId('dm', [a, b]) };
  });
  const t0 = performance.now();
  await publishAll(plan, 'm');
  const rooms = new Set(sent.map((m) => m.room));
  console.log(
    `${sent.length} DMs in ${rooms.size} rooms published and acked in ${(performance.now() - t0).toFixed(0)} ms`,
  );
  expect(sent).toHaveLength(MESSAGES);
  // An open room (the tokens' own pattern) written by five of them: in the writers' lists only.
  const team = `team-${stack.prefix.slice(1, 7)}`;
  await publishAll(
    Array.from({ length: 30 }, (_, i) => ({ from: users[i % 5] as string, room: team })),
    'team',
  );
  expect(users.filter((u) => expected(u).some((i) => i.room === team))).toEqual(users.slice(0, 5));
  const t1 = performance.now();
  await expectEveryList('lists after 1,000 DMs (nothing read yet)');
  console.log(`all 50 lists correct ${(performance.now() - t1).toFixed(0)} ms after the last ack`);
  const totals = users.map((u) => expected(u).length);
  expect(Math.min(...totals)).toBeGreaterThan(PAGE); // every user pages at least twice
  expect(totals.reduce((a, b) => a + b, 0)).toBe(2 * rooms.size + 5);
}, 300_000);

it('unread counts follow read markers moved with read frames (monotonic), and new messages reorder', async () => {
  // Each user reads some rooms to the end, some to the middle, and leaves the rest unread.
  const reads: { user: string; room: string; seq: number }[] = [];
  for (const u of users) {
    for (const item of expected(u)) {
      const seqs = sent.filter((m) => m.room === item.room).map((m) => m.seq);
      const r = random();
      if (r < 0.35) reads.push({ user: u, room: item.room, seq: item.lastSeq });
      else if (r < 0.6) reads.push({ user: u, room: item.room, seq: pick(seqs) });
    }
  }
  const tr = performance.now();
  await Promise.all(
    users.map(async (u) => {
      for (const r of reads.filter((x) => x.user === u)) {
        const ok = await request(u, { type: 'read', room: r.room, seq: r.seq });
        expect(ok.type).toBe('ok');
        markers.set(key(u, r.room), Math.max(markers.get(key(u, r.room)) ?? 0, r.seq));
      }
    }),
  );
  // A marker never moves back: reading an older seq again changes nothing.
  const back = reads.find((r) => r.seq > 1) as { user: string; room: string; seq: number };
  await request(back.user, { type: 'read', room: back.room, seq: 1 });
  const counts = await request(back.user, { type: 'unread', rooms: [back.room] });
  const want = expected(back.user).find((i) => i.room === back.room)?.unread;
  expect((counts.counts as Record<string, number>)[back.room]).toBe(want);
  console.log(`${reads.length} read markers set in ${(performance.now() - tr).toFixed(0)} ms`);

  // New messages in a few old rooms: they move to the top of both members' lists, unread grows.
  const oldest = [...new Set(sent.map((m) => m.room))].slice(0, 10);
  await publishAll(
    oldest.map((room) => ({ room, from: room.slice(room.indexOf('#') + 1).split(',')[0] as string })),
    'late',
  );
  await expectEveryList('lists after read markers and 10 late messages');
  // The model the lists matched covers every case: rooms read to the end, partly, not at all,
  // and the late rooms now first in their members' lists.
  const items = users.flatMap((u) => expected(u).map((i) => ({ u, ...i })));
  expect(items.filter((i) => markers.has(key(i.u, i.room)) && i.unread === 0).length).toBeGreaterThan(50);
  expect(items.filter((i) => markers.has(key(i.u, i.room)) && i.unread > 0).length).toBeGreaterThan(50);
  expect(items.filter((i) => !markers.has(key(i.u, i.room)) && i.unread > 0).length).toBeGreaterThan(50);
  const newest = sent.reduce((a, b) => (b.seq > a.seq ? b : a));
  expect(newest.body.startsWith('late')).toBe(true);
  for (const member of newest.room.slice(3).split(',')) expect(expected(member)[0]?.room).toBe(newest.room);
}, 600_000);

it('a user outside every DM sees none of them', async () => {
  const stranger = await stack.connect(`zz.${stack.prefix.slice(1, 7)}`, { rooms: ['*'] });
  const r = (await stranger.request({ type: 'conversations' })) as Frame;
  expect(r).toMatchObject({ type: 'conversations', items: [], more: false });
  await stranger.close();
});
