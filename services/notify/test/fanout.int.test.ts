import { Collections } from '@parley/store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Harness, startNotify } from './harness.ts';
import { type RealDrivers, realDrivers } from './infra.ts';

const USERS = 10_000;
let drivers: RealDrivers;
let h: Harness;

beforeAll(async () => {
  drivers = await realDrivers({ kafkaBrokers: inject('kafkaBrokers'), mongoUrl: inject('mongoUrl') });
  h = await startNotify({ NOTIFY_BATCH: '500' }, drivers);
  // Conversation entries written directly: the history writer's per-message upserts take minutes
  // for 10,000 users on FerretDB, and the directory reads only these entries.
  const t0 = performance.now();
  const conversations = drivers.mongo.db.collection(Collections.conversations);
  for (let i = 0; i < USERS; i += 1000) {
    const batch = Array.from({ length: 1000 }, (_, k) => {
      const n = i + k;
      const user = `u${String(n).padStart(5, '0')}`;
      const lastMessage = {
        room: 'big',
        seq: n + 1,
        msgId: `m${n}`,
        from: user,
        body: 'hi',
        ts: n,
        clientMsgId: `c${n}`,
      };
      return { user, room: 'big', lastSeq: n + 1, lastTs: n, lastMessage };
    });
    await conversations.insertMany(batch);
  }
  console.log(`seeded ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

afterAll(async () => {
  await h?.stop();
  await drivers?.close();
});

/** Runs `fn` while sampling the heap; resolves with its result and the peak growth in MB. */
async function withPeakHeap<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 10);
  try {
    return [await fn(), (peak - base) / 2 ** 20];
  } finally {
    clearInterval(timer);
  }
}

const rows = (title: string) =>
  drivers.mongo.db.collection(Collections.notifications).countDocuments({ title });

describe('room and broadcast targets with 10,000 recipients (real Mongo-wire)', () => {
  for (const [name, to] of [
    ['room', { room: 'big' }],
    ['broadcast', { all: true }],
  ] as const) {
    it(`${name}: every recipient stored once, count returned = rows stored, bounded memory`, async () => {
      const title = `${name}-${Date.now()}`;
      const t0 = performance.now();
      const [res, growthMb] = await withPeakHeap(() => h.post({ to, title, body: 'to everyone' }));
      const s = (performance.now() - t0) / 1000;
      console.log(
        `${name}: ${USERS} recipients in ${s.toFixed(1)} s (${Math.round(USERS / s)}/s), heap peak +${growthMb.toFixed(1)} MB`,
      );
      expect(res.status).toBe(202);
      expect(res.json.recipients).toBe(USERS);
      expect(await rows(title)).toBe(USERS);
      expect(growthMb).toBeLessThan(64);
      const page = await h.query<{ unread: { title: string }[] }>({ op: 'unread', user: 'u09999', limit: 5 });
      expect(page.unread.map((n) => n.title)).toContain(title);
    });
  }
});
