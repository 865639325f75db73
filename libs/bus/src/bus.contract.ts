/**
 * The suite every Bus driver must pass (memory in bus.memory.test.ts, NATS in
 * test/bus.nats.int.test.ts). Drivers may share one server between tests, so every test works in
 * its own subjects and rooms (unique prefix) and its own durable names, and never assumes the stream
 * is empty. `make` must return buses whose chat window is `opts.window` (a tiny window, so that
 * eviction happens within a test).
 */
import type { StoredChat } from '@parley/protocol';
import { eventually, uniquePrefix } from '@parley/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Bus, type BusMsg, type ChatRecord, type ChatWindow, isBusError } from './bus.ts';

export interface ContractBuses {
  bus: Bus;
  /** A second connection to the same broker (cross-connection delivery, queue groups). */
  extra?: Bus;
  cleanup(): Promise<void>;
}

/** The window `make` should configure; readAfter tests rely on maxPerRoom. */
export const CONTRACT_WINDOW: ChatWindow = { maxPerRoom: 5, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 };

/** Below vitest's default 5 s test timeout, so a failing wait reports its own assertion. */
const WAIT = { timeoutMs: 4_000 };

export function busContract(
  name: string,
  make: () => Promise<ContractBuses>,
  opts: { window?: ChatWindow } = {},
): void {
  const maxPerRoom = (opts.window ?? CONTRACT_WINDOW).maxPerRoom;

  describe(`Bus contract: ${name}`, () => {
    let h: ContractBuses;
    let bus: Bus;
    let other: Bus;
    let p: string;
    beforeEach(async () => {
      h = await make();
      bus = h.bus;
      other = h.extra ?? h.bus;
      p = uniquePrefix('bus');
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** Collects a room's live messages. */
    const roomLog = (room: string) => {
      const got: StoredChat[] = [];
      const sub = bus.chat.subscribeRoom(room, (m) => got.push(m));
      return { got, sub };
    };

    it('delivers to exact and wildcard subscriptions, across connections', async () => {
      const exact: string[] = [];
      const star: string[] = [];
      const tail: string[] = [];
      bus.subscribe(`${p}.a.x`, (m) => exact.push(m.string()));
      bus.subscribe(`${p}.*.x`, (m) => star.push(m.subject));
      bus.subscribe(`${p}.>`, (m) => tail.push(m.subject));
      await bus.flush();
      other.publish(`${p}.a.x`, 'one');
      other.publish(`${p}.b.x`, new TextEncoder().encode('two'));
      other.publish(`${p}.b.y.z`, 'three');
      other.publish(`${p}x.a.x`, 'not mine');
      await eventually(() => expect(tail).toEqual([`${p}.a.x`, `${p}.b.x`, `${p}.b.y.z`]), WAIT);
      expect(exact).toEqual(['one']);
      expect(star).toEqual([`${p}.a.x`, `${p}.b.x`]);
    });

    it('a queue group gets each message once; a handler that throws does not stop the subscription', async () => {
      const seen: string[] = [];
      bus.subscribe(`${p}.q`, (m) => seen.push(m.string()), { queue: 'workers' });
      other.subscribe(`${p}.q`, (m) => seen.push(m.string()), { queue: 'workers' });
      let thrown = 0;
      bus.subscribe(`${p}.q`, () => {
        thrown++;
        throw new Error('handler bug');
      });
      await bus.flush();
      await other.flush();
      for (let i = 0; i < 40; i++) other.publish(`${p}.q`, String(i));
      await eventually(() => expect(thrown).toBe(40), WAIT);
      await eventually(() => expect(seen.length).toBe(40), WAIT);
      expect(new Set(seen).size).toBe(40);
    });

    it('request/reply, and timeout and no_responders errors', async () => {
      other.subscribe(`${p}.echo`, (m: BusMsg) => m.respond(`re:${m.string()}`));
      other.subscribe(`${p}.mute`, () => {});
      await other.flush();
      const reply = await bus.request(`${p}.echo`, 'hi', { timeoutMs: 2_000 });
      expect(reply.string()).toBe('re:hi');
      const started = Date.now();
      const timeout = await bus.request(`${p}.mute`, 'x', { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(isBusError(timeout, 'timeout')).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
      const none = await bus.request(`${p}.nobody`, 'x', { timeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(isBusError(none, 'no_responders')).toBe(true);
    });

    it('subject refs: server interest in exactly the held subjects, each handled with its key', async () => {
      const keys: number[] = [];
      const refs = bus.subjectRefs<number>((key, m) => {
        keys.push(key);
        if (key === 0) throw new Error('handler bug');
        m.respond(`k${key}`);
      });
      expect(refs.acquire(`${p}.u.0`, 0)).toBe(true);
      expect(refs.acquire(`${p}.u.1`, 1)).toBe(true);
      expect(refs.acquire(`${p}.u.2`, 2)).toBe(true);
      expect(refs.acquire(`${p}.u.2`, 99)).toBe(false); // a second reference: keeps its key
      expect(refs.size).toBe(3);
      await bus.flush();
      // A request shows the server's interest: no_responders means it holds no subscription.
      const ask = (s: string, timeoutMs = 2_000) =>
        other.request(s, '', { timeoutMs }).then(
          (m) => m.string(),
          (e: unknown) => (isBusError(e) ? e.kind : e),
        );
      expect(await ask(`${p}.u.1`)).toBe('k1');
      expect(await ask(`${p}.u.0`, 300)).toBe('timeout');
      expect(await ask(`${p}.u.2`)).toBe('k2');
      expect(await ask(`${p}.u.3`)).toBe('no_responders');
      expect(refs.release(`${p}.u.1`)).toBe(true);
      expect(refs.release(`${p}.u.1`)).toBe(false);
      expect(refs.release(`${p}.u.2`)).toBe(false); // one reference left
      await bus.flush();
      expect(refs.size).toBe(2);
      expect(await ask(`${p}.u.1`)).toBe('no_responders');
      expect(await ask(`${p}.u.2`)).toBe('k2');
      expect(refs.release(`${p}.u.2`)).toBe(true);
      await bus.flush();
      expect(await ask(`${p}.u.2`)).toBe('no_responders');
      refs.clear();
      await bus.flush();
      expect(refs.size).toBe(0);
      expect(await ask(`${p}.u.0`)).toBe('no_responders');
      expect(keys).toEqual([1, 0, 2, 2]);
    });

    it('flush and ping resolve on a live connection', async () => {
      expect(bus.connected).toBe(true);
      await bus.flush();
      expect(await bus.ping(2_000)).toBeGreaterThanOrEqual(0);
      expect(typeof bus.chat.epoch).toBe('string');
      expect(bus.chat.epoch.length).toBeGreaterThan(0);
    });

    it('append assigns increasing seqs and per-room prev chains, delivered live in order', async () => {
      const a = `${p}-a`;
      const b = `${p}-b`;
      const la = roomLog(a);
      const lb = roomLog(b);
      await bus.flush();
      const seqs: number[] = [];
      for (const [i, room] of [a, b, a, a, b].entries()) {
        const r = await bus.chat.append(room, `{"n":${i}}`, `${p}:${i}`);
        expect(r.duplicate).toBe(false);
        seqs.push(r.seq);
      }
      const [s0, s1, s2, s3, s4] = seqs as [number, number, number, number, number];
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(5);
      await eventually(() => expect(la.got.length + lb.got.length).toBe(5), WAIT);
      expect(la.got).toEqual([
        { room: a, seq: s0, prev: 0, data: '{"n":0}' },
        { room: a, seq: s2, prev: s0, data: '{"n":2}' },
        { room: a, seq: s3, prev: s2, data: '{"n":3}' },
      ]);
      expect(lb.got.map((m) => [m.seq, m.prev])).toEqual([
        [s1, 0],
        [s4, s1],
      ]);
      expect(await bus.chat.lastSeq(a)).toBe(s3);
      expect(await bus.chat.lastSeq(`${p}-empty`)).toBe(0);
    });

    it('a duplicate msgId gets the same seq, duplicate: true, and is not delivered again', async () => {
      const room = `${p}-dup`;
      const log = roomLog(room);
      await bus.flush();
      const first = await bus.chat.append(room, '{"v":1}', `${p}:same`);
      const again = await other.chat.append(room, '{"v":1}', `${p}:same`);
      expect(again).toEqual({ seq: first.seq, duplicate: true });
      const next = await bus.chat.append(room, '{"v":2}', `${p}:next`);
      await eventually(() => expect(log.got.at(-1)?.seq).toBe(next.seq), WAIT);
      expect(log.got.map((m) => [m.seq, m.prev])).toEqual([
        [first.seq, 0],
        [next.seq, first.seq],
      ]);
    });

    it('a room handler that throws keeps its subscription', async () => {
      const room = `${p}-throw`;
      const got: number[] = [];
      bus.chat.subscribeRoom(room, (m) => {
        got.push(m.seq);
        if (got.length === 1) throw new Error('handler bug');
      });
      await bus.flush();
      const a = await bus.chat.append(room, '{}', `${p}:t1`);
      const b = await bus.chat.append(room, '{}', `${p}:t2`);
      await eventually(() => expect(got).toEqual([a.seq, b.seq]), WAIT);
    });

    it('room ids with # and non-subject-safe user ids work end to end', async () => {
      const room = `${p}#dm.a.b@x,c d>*`;
      const log = roomLog(room);
      await bus.flush();
      const r = await bus.chat.append(room, '{"x":"y"}', `${p}:odd`);
      await eventually(
        () => expect(log.got).toEqual([{ room, seq: r.seq, prev: 0, data: '{"x":"y"}' }]),
        WAIT,
      );
      expect(await bus.chat.lastSeq(room)).toBe(r.seq);
      const read = await bus.chat.readAfter(room, 0, 10);
      expect(read.messages.map((m) => [m.room, m.seq])).toEqual([[room, r.seq]]);
    });

    it('readAfter: covered while the cursor is in the window, chained prevs, limit', async () => {
      const room = `${p}-w`;
      const n = maxPerRoom + 3;
      const seqs: number[] = [];
      for (let i = 0; i < n; i++) seqs.push((await bus.chat.append(room, `{"i":${i}}`, `${p}:w${i}`)).seq);
      const kept = seqs.slice(-maxPerRoom);
      const cursor = kept[0]!;
      const inWindow = await bus.chat.readAfter(room, cursor, 100);
      expect(inWindow.covered).toBe(true);
      expect(inWindow.messages.map((m) => m.seq)).toEqual(kept.slice(1));
      expect(inWindow.messages.map((m) => m.prev)).toEqual(kept.slice(0, -1));
      expect(inWindow.messages[0]).toEqual({
        room,
        seq: kept[1],
        prev: cursor,
        data: `{"i":${n - maxPerRoom + 1}}`,
      });
      const limited = await bus.chat.readAfter(room, cursor, 2);
      expect(limited).toEqual({ covered: true, messages: inWindow.messages.slice(0, 2) });
      const atEnd = await bus.chat.readAfter(room, seqs.at(-1)!, 10);
      expect(atEnd).toEqual({ covered: true, messages: [] });
    });

    it('readAfter: not covered once the cursor was evicted, or is another room’s, or for 0 after eviction', async () => {
      const room = `${p}-e`;
      const seqs: number[] = [];
      for (let i = 0; i < maxPerRoom + 2; i++)
        seqs.push((await bus.chat.append(room, '{}', `${p}:e${i}`)).seq);
      const kept = seqs.slice(-maxPerRoom);
      const evicted = await bus.chat.readAfter(room, seqs[0]!, 100);
      expect(evicted.covered).toBe(false);
      // The window's messages are still returned (the caller fills the gap from history), chained from the cursor.
      expect(evicted.messages.map((m) => m.seq)).toEqual(kept);
      expect(evicted.messages[0]!.prev).toBe(seqs[0]);
      const fromZero = await bus.chat.readAfter(room, 0, 100);
      expect(fromZero.covered).toBe(false);
      expect(fromZero.messages.map((m) => m.seq)).toEqual(kept);
      const elsewhere = (await bus.chat.append(`${p}-other`, '{}', `${p}:o`)).seq;
      expect((await bus.chat.readAfter(room, elsewhere, 10)).covered).toBe(false);
    });

    it('readAfter(0) on a room that lost nothing is never wrongly covered', async () => {
      const room = `${p}-z`;
      const seqs: number[] = [];
      for (let i = 0; i < 3; i++) seqs.push((await bus.chat.append(room, '{}', `${p}:z${i}`)).seq);
      const read = await bus.chat.readAfter(room, 0, 100);
      // A driver may answer false (the caller then asks history); if it says covered, it must hold all.
      if (read.covered) expect(read.messages.map((m) => m.seq)).toEqual(seqs);
      expect(read.messages.map((m) => [m.seq, m.prev])).toEqual([
        [seqs[0], 0],
        [seqs[1], seqs[0]],
        [seqs[2], seqs[1]],
      ]);
      expect((await bus.chat.readAfter(`${p}-never`, 0, 10)).messages).toEqual([]);
    });

    /** Runs a consumer that keeps the records of this test's rooms from accepted batches. */
    const consumeMine = (durable: string, reject?: (batch: ChatRecord[]) => boolean) => {
      const accepted: ChatRecord[] = [];
      const attempts = new Map<number, number>();
      const consumer = bus.chat.consume(
        durable,
        async (batch) => {
          const mine = batch.filter((r) => r.room.startsWith(p));
          for (const r of mine) attempts.set(r.seq, (attempts.get(r.seq) ?? 0) + 1);
          if (reject?.(mine)) throw new Error('sink down');
          accepted.push(...mine);
        },
        { batch: 4 },
      );
      return { accepted, attempts, consumer };
    };

    it('consume: every record, in stream order, room decoded; pending drains to 0', async () => {
      const rooms = [`${p}-c1`, `${p}#u.1,u 2`];
      const appended: ChatRecord[] = [];
      for (let i = 0; i < 10; i++) {
        const room = rooms[i % 2]!;
        const { seq } = await bus.chat.append(room, `{"i":${i}}`, `${p}:c${i}`);
        appended.push({ room, seq, data: `{"i":${i}}` });
      }
      const c = consumeMine(`${p}-d1`);
      await eventually(() => expect(c.accepted).toEqual(appended), WAIT);
      await eventually(async () => expect(await c.consumer.pending()).toBe(0), WAIT);
      await c.consumer.stop();
    });

    it('consume: a rejected batch is redelivered, order kept', async () => {
      const room = `${p}-r`;
      const seqs: number[] = [];
      for (let i = 0; i < maxPerRoom; i++) seqs.push((await bus.chat.append(room, '{}', `${p}:r${i}`)).seq);
      let failures = 2;
      const c = consumeMine(`${p}-d2`, (mine) => mine.length > 0 && failures-- > 0);
      await eventually(() => expect(c.accepted.map((r) => r.seq)).toEqual(seqs), WAIT);
      expect(failures).toBeLessThan(0);
      expect(c.attempts.get(seqs[0]!)).toBe(3);
      await c.consumer.stop();
    });

    it('consume: a new consumer of the same durable resumes from the ack floor', async () => {
      const room = `${p}-f`;
      const before: number[] = [];
      for (let i = 0; i < 5; i++) before.push((await bus.chat.append(room, '{}', `${p}:f${i}`)).seq);
      const c1 = consumeMine(`${p}-d3`);
      await eventually(() => expect(c1.accepted.map((r) => r.seq)).toEqual(before), WAIT);
      await c1.consumer.stop();
      const after: number[] = [];
      for (let i = 5; i < 8; i++) after.push((await bus.chat.append(room, '{}', `${p}:f${i}`)).seq);
      const c2 = consumeMine(`${p}-d3`);
      await eventually(() => expect(c2.accepted.map((r) => r.seq)).toEqual(after), WAIT);
      await c2.consumer.stop();
    });
  });
}
