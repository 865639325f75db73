/**
 * `npx tsx services/history/bench/conversations.ts [--quick]`: the conversation list of a user with
 * 10,000 conversations (issue 8; goal p99 < 20 ms), answered the way the `conversations` frame is:
 * history's Queries.answer (validation, the (user, lastSeq desc) page, one last-message lookup per
 * item, unread counts), on the Mongo-wire server the test kit provides (MONGO_URL if set, else mongod
 * on PATH, else FerretDB v1 on PostgreSQL — which is what runs on this box: see the `server` line).
 *
 * Data: the user `me` is in 10,000 DMs with 3 messages each, and as many other DMs between other
 * users add noise (60,000 messages, 40,000 conversation entries in all); 30% of me's rooms are read
 * to the end. Bulk-seeded with insertMany in the shape the writer stores; the newest 100 messages
 * go through the real MessageSink.write. Scenarios: first page (20, the frame's default), a page
 * deep in the list (`before` = a random lastSeq), first page of 100 (the largest). Each runs until
 * 200 samples or 60 s (5 s with --quick), after 3 warm-up calls, one call at a time.
 * Writes results/conversations.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createTestLogger } from '@parley/log';
import type { HistoryResults, ServiceReply } from '@parley/protocol';
import { type MongoHandle, mongoStores, openMongo, type StoredMessage } from '@parley/store';
import { startMongo, uniquePrefix } from '@parley/testkit';
import { createHistoryMetrics } from '../src/metrics.ts';
import { Queries } from '../src/query.ts';

const quick = process.argv.includes('--quick');
const CONVERSATIONS = 10_000;
const PER_ROOM = 3;
const NOISE_ROOMS = 10_000;
const MAX_SAMPLES = 200;
const MAX_SECONDS = quick ? 5 : 60;
const GOAL_MS = 20;
const ME = 'me';

const server = await startMongo();
const dbName = uniquePrefix('bench_conversations');
const mongo = await openMongo(server.url, dbName, { socketTimeoutMS: 120_000 });
try {
  await main(mongo);
} finally {
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
  await server[Symbol.asyncDispose]();
}

async function main(m: MongoHandle): Promise<void> {
  const serverInfo = await describeServer(m);
  console.log(`server: ${serverInfo}`);
  const t0 = performance.now();
  const seeded = await seed(m);
  const seedSeconds = (performance.now() - t0) / 1000;
  console.log(
    `seeded ${seeded.messages} messages, ${seeded.conversations} conversation entries, ` +
      `${seeded.reads} read markers in ${seedSeconds.toFixed(1)} s`,
  );

  const stores = mongoStores(m.db);
  const log = createTestLogger({ level: 'warn' }).logger;
  const queries = new Queries(
    stores,
    { maxPage: 100, maxAfter: 1001, maxUnreadRooms: 100, maxRoomMembers: 32 },
    createHistoryMetrics('bench'),
    log,
  );
  const ask = async (before: number | undefined, limit: number) => {
    const reply = (await queries.answer(
      JSON.stringify({ op: 'conversations', user: ME, before, limit }),
    )) as ServiceReply<HistoryResults['conversations']>;
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    return reply.result;
  };

  // Correctness of what is being timed: a full first page, newest first, previews and counts.
  const first = await ask(undefined, 20);
  const lastSeqs = first.items.map((i) => i.lastSeq);
  const sorted = [...lastSeqs].sort((a, b) => b - a);
  if (first.items.length !== 20 || !first.more || lastSeqs.join() !== sorted.join())
    throw new Error(`unexpected first page: ${JSON.stringify(first).slice(0, 300)}`);
  if (
    first.items.some((i) => i.lastMessage === null || i.unread !== (seeded.read.has(i.room) ? 0 : PER_ROOM))
  )
    throw new Error(`unexpected previews or unread counts: ${JSON.stringify(first.items[0])}`);

  const plan = await explainPage(m);
  const rows = [
    await scenario('first page, limit 20', () => ask(undefined, 20)),
    await scenario('deep page (before = random lastSeq), limit 20', () =>
      ask(seeded.myLastSeqs[Math.floor(Math.random() * seeded.myLastSeqs.length)], 20),
    ),
    await scenario('first page, limit 100', () => ask(undefined, 100)),
    // Where the time goes, for the first page of 20.
    await scenario('  part: conversations page + last-message lookups', () =>
      stores.conversations.conversations(ME, undefined, 20),
    ),
    await scenario('  part: unread counts for 20 rooms', () =>
      stores.reads.unreadCounts(
        ME,
        first.items.map((i) => i.room),
      ),
    ),
  ];

  printTable(rows);
  const result = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      server: serverInfo,
      cpus: cpus().length,
      loadAverage1m: Number(loadavg()[0]?.toFixed(2)),
      quick,
      goalP99Ms: GOAL_MS,
      data: { ...seeded, read: seeded.read.size, myLastSeqs: undefined, seedSeconds: round(seedSeconds) },
      conversationsPlan: plan,
      note: 'One call at a time, in this process (no NATS hop). The box is shared with other tenants: see loadAverage1m.',
    },
    rows,
    goalMet: (rows[0]?.p99 ?? Number.POSITIVE_INFINITY) < GOAL_MS,
  };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('conversations.json', dir), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `goal p99 < ${GOAL_MS} ms for the first page: ${result.goalMet ? 'met' : 'NOT met'}; ` +
      'wrote services/history/bench/results/conversations.json',
  );
}

interface Seeded {
  messages: number;
  conversations: number;
  reads: number;
  read: Set<string>;
  myLastSeqs: number[];
}

/** Documents in the shape MongoMessages.write stores (messages with members; conversations). */
async function seed(m: MongoHandle): Promise<Seeded> {
  const messages = m.db.collection('messages');
  const convs = m.db.collection('conversations');
  const reads = m.db.collection('reads');
  // Interleave my rooms with noise rooms so seqs (global across rooms) mix like real traffic.
  const rooms: { room: string; members: [string, string] }[] = [];
  for (let i = 0; i < Math.max(CONVERSATIONS, NOISE_ROOMS); i++) {
    if (i < CONVERSATIONS) rooms.push({ room: `dm#${ME},p${pad(i)}`, members: [ME, `p${pad(i)}`] });
    if (i < NOISE_ROOMS) {
      const a = `o${pad(i % 500)}`;
      const b = `q${pad(i)}`;
      rooms.push({ room: `dm#${a},${b}`, members: [a, b] });
    }
  }
  const all: StoredMessage[] = [];
  let seq = 0;
  const ts = Date.now() - 86_400_000;
  for (let round = 0; round < PER_ROOM; round++) {
    for (const [i, r] of rooms.entries()) {
      seq++;
      const from = r.members[(i + round) % 2] as string;
      all.push({
        room: r.room,
        seq,
        msgId: `${from}:${r.room}:c${seq}`,
        from,
        body: `message ${seq} in ${r.room}`,
        ts: ts + seq,
        clientMsgId: `c${seq}`,
      });
    }
  }
  const viaSink = all.splice(all.length - 100);
  const last = new Map<string, StoredMessage>();
  for (const msg of all) last.set(msg.room, msg);
  for (let i = 0; i < all.length; i += 5000) {
    const chunk = all.slice(i, i + 5000).map((msg) => ({
      ...msg,
      members: msg.room.slice(msg.room.indexOf('#') + 1).split(','),
    }));
    await messages.insertMany(chunk, { ordered: false });
  }
  const convDocs = [...last.values()].flatMap((msg) =>
    msg.room
      .slice(msg.room.indexOf('#') + 1)
      .split(',')
      .map((user) => ({ user, room: msg.room, lastSeq: msg.seq, lastTs: msg.ts })),
  );
  for (let i = 0; i < convDocs.length; i += 5000)
    await convs.insertMany(convDocs.slice(i, i + 5000), { ordered: false });
  // The newest messages through the writer's own path (inserts and $max upserts).
  await mongoStores(m.db).sink.write(viaSink);
  for (const msg of viaSink) last.set(msg.room, msg);

  const mine = rooms.filter((r) => r.members.includes(ME)).map((r) => r.room);
  const read = new Set(mine.filter((_, i) => i % 10 < 3));
  const readDocs = [...read].map((room) => ({ user: ME, room, seq: last.get(room)?.seq ?? 0 }));
  for (let i = 0; i < readDocs.length; i += 5000)
    await reads.insertMany(readDocs.slice(i, i + 5000), { ordered: false });
  return {
    messages: all.length + viaSink.length,
    conversations: await convs.countDocuments({}),
    reads: readDocs.length,
    read,
    myLastSeqs: mine.map((room) => last.get(room)?.seq ?? 0),
  };
}

interface Row {
  scenario: string;
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

async function scenario(name: string, call: () => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < 3; i++) await call();
  const samples: number[] = [];
  const deadline = performance.now() + MAX_SECONDS * 1000;
  while (samples.length < MAX_SAMPLES && performance.now() < deadline) {
    const t = performance.now();
    await call();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.ceil(p * samples.length) - 1)] ?? 0;
  const row = {
    scenario: name,
    n: samples.length,
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    p50: round(q(0.5)),
    p95: round(q(0.95)),
    p99: round(q(0.99)),
    max: round(samples.at(-1) ?? 0),
  };
  console.log(`  ${name}: n=${row.n} p50=${row.p50} p99=${row.p99} ms`);
  return row;
}

function printTable(rows: Row[]): void {
  const head = ['scenario', 'n', 'mean ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'];
  const body = rows.map((r) => [r.scenario, r.n, r.mean, r.p50, r.p95, r.p99, r.max].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const b of body) console.log(line(b));
  console.log('');
}

/** Which server answered, and (FerretDB) which version. */
async function describeServer(m: MongoHandle): Promise<string> {
  const info = await m.db.admin().command({ buildInfo: 1 });
  const ferret = info.ferretdbVersion as string | undefined;
  const how = process.env.MONGO_URL ? 'MONGO_URL' : 'started by the test kit; FerretDB runs on PostgreSQL';
  const what = ferret
    ? `FerretDB ${ferret} (wire version ${String(info.version)})`
    : `MongoDB ${String(info.version)}`;
  return `${what}, ${how}`;
}

/** The server's plan for the list's index read (FerretDB: pushdown flags; MongoDB: winning stage). */
async function explainPage(m: MongoHandle): Promise<unknown> {
  const ex = (await m.db
    .collection('conversations')
    .find({ user: ME })
    .sort({ lastSeq: -1 })
    .limit(21)
    .explain()) as Record<string, unknown>;
  const { queryPlanner, filterPushdown, sortPushdown, limitPushdown } = ex;
  return { queryPlanner, filterPushdown, sortPushdown, limitPushdown };
}

function pad(i: number): string {
  return String(i).padStart(5, '0');
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
