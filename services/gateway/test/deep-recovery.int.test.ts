/**
 * Deep recovery on the real stack (issue 9): a client away for longer than the JetStream window
 * rejoins with `since` and gets every message it missed, the early ones from Mongo through the
 * history service, the rest from the window, then live traffic, with no gap and no duplicate, while
 * others keep publishing; and a gap over the replay cap says recovered: false and replays nothing.
 *
 * Stream CHAT's window is server-wide and a gateway updates it to its own setting, so this file runs
 * its own nats-server (a 10-message window would evict other files' messages). Kafka topics, writer
 * group, bridge durable and Mongo database are this file's own too, on the int project's servers.
 */
import { type Bus, createNatsBus } from '@parley/bus';
import { type Stack, startStack } from '@parley/embedded/testing';
import { MAX_PAGE } from '@parley/protocol';
import { eventually, type ServerHandle, startNats, uniquePrefix, type WsClient } from '@parley/testkit';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';

const WINDOW = 10;
const CAP = 200;

type Frame = Record<string, unknown> & { type: string };
const asFrame = (f: unknown) => f as Frame;
interface Msg {
  seq: number;
  prev: number;
}

let nats: ServerHandle;
let stack: Stack;
let probe: Bus;
let run = '';

beforeAll(async () => {
  nats = await startNats({ own: true });
  run = uniquePrefix('deep');
  stack = await startStack(
    { natsUrl: nats.url, kafkaBrokers: inject('kafkaBrokers'), mongoUrl: inject('mongoUrl') },
    {
      CHAT_WINDOW_MESSAGES: String(WINDOW),
      REPLAY_CAP: String(CAP),
      HISTORY_TOPIC: `${run}.chat`,
      HISTORY_DEAD_TOPIC: `${run}.chat.dead`,
      HISTORY_KAFKA_PARTITIONS: '2',
      HISTORY_WRITER_GROUP: `${run}-writer`,
      HISTORY_BRIDGE_DURABLE: `${run}-bridge`,
      LIMIT_PUBLISH_PER_SECOND: '1000',
      LIMIT_PUBLISH_BURST: '1000',
    },
    { label: 'deep' },
  );
  // The same window as the stack's, so connecting does not change the stream.
  probe = await createNatsBus({ servers: nats.url, name: 'deep-probe', window: { maxPerRoom: WINDOW } });
}, 180_000);

afterAll(async () => {
  await probe?.close();
  await stack?.stop();
  await nats?.[Symbol.asyncDispose]();
});

async function publish(c: WsClient, room: string, tag: string): Promise<number> {
  const ack = asFrame(
    await c.request({ type: 'publish', room, body: `${tag} ${run}`, clientMsgId: tag }, 15_000),
  );
  expect(ack, JSON.stringify(ack)).toMatchObject({ type: 'ack', room, duplicate: false });
  return ack.seq as number;
}

/**
 * Publishes n messages at once (pipelined on one connection). With a 10-message window such a burst
 * used to outrun stream CHAT_LOG's copy of CHAT and lose messages before history saw them; the
 * gateway's bus now holds appends back while CHAT_LOG lags (libs/bus/src/bus.nats.guard.ts), so
 * every acked message must reach history. A publish refused `unavailable` (held back past the
 * append timeout) is retried with the same clientMsgId, as the SDK does.
 */
async function publishMany(c: WsClient, room: string, tag: string, n: number): Promise<number[]> {
  const one = async (i: number): Promise<number> => {
    for (;;) {
      const clientMsgId = `${tag}-${i}`;
      const r = asFrame(
        await c.request({ type: 'publish', room, body: `${clientMsgId} ${run}`, clientMsgId }, 15_000),
      );
      if (r.type === 'error' && r.code === 'unavailable') continue;
      // A retry of a message stored but not acked in time is acked as a duplicate, same seq.
      expect(r, JSON.stringify(r)).toMatchObject({ type: 'ack', room });
      return r.seq as number;
    }
  };
  return Promise.all(Array.from({ length: n }, (_, i) => one(i)));
}

/** Waits until history (Mongo, through the history service) holds every one of `seqs`. */
async function persisted(c: WsClient, room: string, seqs: readonly number[]): Promise<void> {
  const lowest = Math.min(...seqs);
  await eventually(
    async () => {
      const held = new Set<number>();
      let before: number | undefined;
      for (;;) {
        const h = asFrame(await c.request({ type: 'history', room, limit: MAX_PAGE, before }, 15_000));
        expect(h.type, JSON.stringify(h)).toBe('history');
        const page = h.messages as Msg[];
        for (const m of page) held.add(m.seq);
        before = page[0]?.seq;
        if (!h.more || before === undefined || before <= lowest) break;
      }
      expect(seqs.filter((s) => !held.has(s))).toEqual([]);
    },
    { timeoutMs: 60_000, intervalMs: 250, message: `history holds every missed message of ${room}` },
  );
}

/** The first seq of the room that stream CHAT still holds after `after` (the window's start). */
async function windowStart(room: string, after: number): Promise<number> {
  const w = await probe.chat.readAfter(room, after, WINDOW + 1);
  expect(w.covered).toBe(false);
  return w.messages[0]?.seq ?? 0;
}

async function recoveries(tier: string, result: string): Promise<number> {
  const text = await (await fetch(`${stack.http.gateway}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`parley_gateway_recoveries_total{tier="${tier}",result="${result}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** The room's frames up to and including `joined`, and the message frames after it. */
function split(c: WsClient, room: string): { replay: Msg[]; joined: Frame; live: Msg[] } {
  const frames = c.frames.map(asFrame).filter((f) => f.room === room);
  const at = frames.findIndex((f) => f.type === 'joined');
  expect(at, 'joined frame').toBeGreaterThanOrEqual(0);
  const msgs = (fs: Frame[]) => fs.filter((f) => f.type === 'message') as unknown as Msg[];
  return { replay: msgs(frames.slice(0, at)), joined: frames[at] as Frame, live: msgs(frames.slice(at + 1)) };
}

/**
 * Joins with `since` the way the SDK does: a join refused as `unavailable` (history has not yet
 * caught up with the window's start, which traffic keeps moving) is retried after a pause.
 */
async function rejoin(c: WsClient, room: string, since: number, epoch: unknown): Promise<Frame> {
  let attempts = 0;
  const joined = await eventually(
    async () => {
      attempts++;
      const r = asFrame(await c.request({ type: 'join', room, since, epoch }, 20_000));
      if (r.type === 'error') expect(r.code, JSON.stringify(r)).toBe('unavailable');
      expect(r.type, JSON.stringify(r)).toBe('joined');
      return r;
    },
    { timeoutMs: 60_000, intervalMs: 200, message: `join ${room} since ${since}` },
  );
  console.log(`join ${room} since ${since}: ${attempts} attempt(s)`);
  return joined;
}

function expectChain(msgs: readonly Msg[], from: number): void {
  let prev = from;
  for (const m of msgs) {
    expect(m.prev, `prev of seq ${m.seq}`).toBe(prev);
    expect(m.seq).toBeGreaterThan(prev);
    prev = m.seq;
  }
}

it('a client away longer than the window recovers from history, then the window, then live, with no gap', async () => {
  const room = `${run}-deep`;
  const alice = await stack.connect('alice');
  const bob = await stack.connect('bob');
  const carol = await stack.connect('carol');
  const first = asFrame(await alice.request({ type: 'join', room }, 20_000));
  expect(first).toMatchObject({ type: 'joined', room });
  for (const c of [bob, carol])
    expect(await c.request({ type: 'join', room })).toMatchObject({ type: 'joined' });
  await publishMany(bob, room, 'before', 3);
  const seen = await eventually(() => {
    const s = alice.ofType('message').filter((m) => m.room === room);
    expect(s).toHaveLength(3);
    return s;
  });
  const since = seen.at(-1)?.seq ?? 0;
  await alice.close();

  const missed = await publishMany(bob, room, 'away', 4 * WINDOW);
  const windowFirst = await windowStart(room, since);
  expect(windowFirst, 'the earliest missed messages left the window').toBeGreaterThan(Math.min(...missed));
  await persisted(carol, room, missed);
  const deepBefore = await recoveries('history', 'recovered');

  // Carol keeps publishing, one at a time every 50 ms (a window lasts ~0.5 s), before, during and
  // after the rejoin.
  const during: number[] = [];
  let until = Number.POSITIVE_INFINITY;
  const publisher = (async () => {
    for (let i = 0; during.length < until; i++) {
      during.push(await publish(carol, room, `during-${i}`));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await eventually(() => expect(during.length).toBeGreaterThanOrEqual(2));
  const alice2 = await stack.connect('alice');
  const joined = await rejoin(alice2, room, since, first.epoch);
  expect(joined).toMatchObject({ type: 'joined', room, recovered: true });
  until = during.length + 3;
  await publisher;
  const all = [...missed, ...during].sort((a, b) => a - b);
  const last = all.at(-1) ?? 0;
  await alice2.waitFor((f) => f.type === 'message' && asFrame(f).seq === last, 15_000, `live seq ${last}`);

  const { replay, live } = split(alice2, room);
  expect(replay.length).toBeGreaterThan(0);
  expect(joined.seq).toBe(replay.at(-1)?.seq);
  expectChain(replay, since);
  expectChain(live, joined.seq as number);
  expect([...replay, ...live].map((m) => m.seq)).toEqual(all);
  expect(live.length, 'messages published after the join arrived live').toBeGreaterThan(0);
  expect(replay[0]?.seq, 'the replay starts below the window').toBeLessThan(windowFirst);
  expect(await recoveries('history', 'recovered')).toBe(deepBefore + 1);
});

it('a gap over the replay cap says recovered: false and replays nothing', async () => {
  const room = `${run}-cap`;
  const alice = await stack.connect('alice');
  const bob = await stack.connect('bob');
  const first = asFrame(await alice.request({ type: 'join', room }, 20_000));
  expect(await bob.request({ type: 'join', room })).toMatchObject({ type: 'joined' });
  const since = await publish(bob, room, 'cap-first');
  await alice.waitFor((f) => f.type === 'message' && asFrame(f).seq === since);
  await alice.close();
  const missed = await publishMany(bob, room, 'cap-away', CAP + 10);
  const last = Math.max(...missed);
  await windowStart(room, since);
  await persisted(bob, room, missed);
  const before = await recoveries('history', 'not_recovered');

  const alice2 = await stack.connect('alice');
  const joined = await rejoin(alice2, room, since, first.epoch);
  expect(joined).toMatchObject({ type: 'joined', room, seq: last, recovered: false });
  const next = await publish(bob, room, 'cap-after');
  const live = asFrame(await alice2.waitFor((f) => f.type === 'message' && asFrame(f).seq === next));
  expect(live.prev).toBe(last);
  const { replay } = split(alice2, room);
  expect(replay).toEqual([]);
  expect(await recoveries('history', 'not_recovered')).toBe(before + 1);
});
