/**
 * The suite every EventStream driver must pass (memory in unit tests, Kafka in int tests).
 * Each test uses its own topics and groups (uniquePrefix), so drivers may share one server.
 * Waits are generous: a real consumer group needs a join round trip before it gets partitions.
 */
import { eventually, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStream, InRecord, OutRecord, StreamConsumer } from './stream.ts';

export interface ContractSubject {
  stream: EventStream;
  cleanup(): Promise<void>;
}

const WAIT = { timeoutMs: 30_000 };

/** Records `r0..r{n-1}` with values `${tag}-i`; keys spread over `keys` distinct keys. */
function records(n: number, tag: string, keys = n): OutRecord[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i % keys}`, value: `${tag}-${i}` }));
}

/** A handler that keeps every record it accepted, in arrival order. */
function collector() {
  const seen: InRecord[] = [];
  const handler = async (batch: InRecord[]) => {
    seen.push(...batch);
  };
  return { seen, handler, values: () => seen.map((r) => r.value) };
}

export function streamContract(name: string, make: () => Promise<ContractSubject>): void {
  // Longer than WAIT, so a failing wait reports its assertion instead of a bare test timeout.
  describe(`EventStream contract: ${name}`, { timeout: 60_000 }, () => {
    let subject: ContractSubject;
    let stream: EventStream;
    const consumers: StreamConsumer[] = [];
    const consume = async (...args: Parameters<EventStream['consume']>) => {
      const c = await stream.consume(...args);
      consumers.push(c);
      return c;
    };
    const topic = async (label: string, partitions: number) => {
      const t = uniquePrefix(label);
      await stream.ensureTopics([{ topic: t, partitions }]);
      return t;
    };

    beforeAll(async () => {
      subject = await make();
      stream = subject.stream;
      await stream.start();
    });
    afterAll(async () => {
      await Promise.allSettled(consumers.map((c) => c.stop()));
      await subject.cleanup();
    });

    it('delivers what was sent, with key, value, headers and position', async () => {
      const t = await topic('roundtrip', 3);
      await stream.send(t, [{ key: 'a', value: 'hello', headers: { trace: 'x1' } }, ...records(9, 'v')]);
      const c = collector();
      await consume({ group: uniquePrefix('g'), topics: [t] }, c.handler);
      await eventually(() => expect(c.seen).toHaveLength(10), WAIT);
      const first = c.seen.find((r) => r.key === 'a');
      expect(first).toMatchObject({ topic: t, key: 'a', value: 'hello', headers: { trace: 'x1' } });
      expect(first?.partition).toBeGreaterThanOrEqual(0);
      expect(first?.offset).toMatch(/^\d+$/);
      expect(first?.timestamp).toBeGreaterThan(Date.now() - 60_000);
      expect(new Set(c.values())).toEqual(new Set(['hello', ...records(9, 'v').map((r) => r.value)]));
    });

    it('keeps per-key order across partitions', async () => {
      const t = await topic('order', 4);
      for (let round = 0; round < 4; round++) await stream.send(t, records(40, `r${round}`, 8));
      const c = collector();
      await consume({ group: uniquePrefix('g'), topics: [t], maxBatch: 7 }, c.handler);
      await eventually(() => expect(c.seen).toHaveLength(160), WAIT);
      const byKey = new Map<string, InRecord[]>();
      for (const r of c.seen) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
      expect(byKey.size).toBe(8);
      for (const [key, recs] of byKey) {
        expect(new Set(recs.map((r) => r.partition)).size).toBe(1);
        const sent = [0, 1, 2, 3].flatMap((round) =>
          records(40, `r${round}`, 8)
            .filter((r) => r.key === key)
            .map((r) => r.value),
        );
        expect(recs.map((r) => r.value)).toEqual(sent);
      }
      expect(new Set(c.seen.map((r) => r.partition)).size).toBeGreaterThan(1);
    });

    it('resumes a group from its committed offset: committed never again, uncommitted again', async () => {
      const t = await topic('resume', 1);
      const group = uniquePrefix('g');
      await stream.send(t, records(6, 'a'));
      // Accepts three single-record batches, then rejects: offsets 0..2 committed, 3..5 not.
      const accepted: string[] = [];
      const first = await consume({ group, topics: [t], maxBatch: 1 }, async (batch) => {
        if (accepted.length >= 3) throw new Error('not now');
        accepted.push(...batch.map((r) => r.value));
      });
      await eventually(async () => expect(await first.lag()).toBe(3), WAIT);
      await first.stop();
      expect(accepted).toEqual(['a-0', 'a-1', 'a-2']);
      await stream.send(t, records(2, 'b'));
      const c = collector();
      await consume({ group, topics: [t] }, c.handler);
      await eventually(() => expect(c.values()).toEqual(['a-3', 'a-4', 'a-5', 'b-0', 'b-1']), WAIT);
    });

    it('retries a rejected batch from the same offset, skipping nothing', async () => {
      const t = await topic('retry', 1);
      await stream.send(t, records(5, 'x'));
      const attempts: string[][] = [];
      const c = collector();
      await consume({ group: uniquePrefix('g'), topics: [t] }, async (batch) => {
        attempts.push(batch.map((r) => r.offset));
        if (attempts.length <= 2) throw new Error('transient');
        await c.handler(batch);
      });
      await eventually(() => expect(c.values()).toEqual(records(5, 'x').map((r) => r.value)), WAIT);
      expect(attempts[1]).toEqual(attempts[0]);
      expect(attempts[2]?.[0]).toBe(attempts[0]?.[0]);
    });

    it('splits partitions between two members of a group, each record seen once', async () => {
      const t = await topic('split', 4);
      const group = uniquePrefix('g');
      const a = collector();
      const b = collector();
      await consume({ group, topics: [t] }, a.handler);
      await consume({ group, topics: [t] }, b.handler);
      const sent = records(40, 's');
      await stream.send(t, sent);
      await eventually(() => expect(a.seen.length + b.seen.length).toBe(40), WAIT);
      expect(a.seen.length).toBeGreaterThan(0);
      expect(b.seen.length).toBeGreaterThan(0);
      expect([...a.values(), ...b.values()].sort()).toEqual(sent.map((r) => r.value).sort());
      const partitionsOf = (c: ReturnType<typeof collector>) => new Set(c.seen.map((r) => r.partition));
      expect([...partitionsOf(a)].filter((p) => partitionsOf(b).has(p))).toEqual([]);
    });

    it('reports lag as the unconsumed count, then 0', async () => {
      const t = await topic('lag', 2);
      await stream.send(t, records(7, 'l'));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const c = await consume({ group: uniquePrefix('g'), topics: [t] }, () => gate);
      expect(await c.lag()).toBe(7);
      release();
      await eventually(async () => expect(await c.lag()).toBe(0), WAIT);
    });

    it('ensureTopics is idempotent, also when called concurrently', async () => {
      const t = uniquePrefix('ensure');
      await Promise.all([
        stream.ensureTopics([{ topic: t, partitions: 2 }]),
        stream.ensureTopics([{ topic: t, partitions: 2 }]),
      ]);
      await stream.ensureTopics([{ topic: t, partitions: 2 }]);
      await stream.send(t, records(20, 'e'));
      const c = collector();
      await consume({ group: uniquePrefix('g'), topics: [t] }, c.handler);
      await eventually(() => expect(c.seen).toHaveLength(20), WAIT);
      expect(new Set(c.seen.map((r) => r.partition))).toEqual(new Set([0, 1]));
    });

    it('creates a topic with the default partition count when none is given', async () => {
      const t = uniquePrefix('default');
      await stream.ensureTopics([{ topic: t }]);
      await stream.send(t, records(3, 'd'));
      const c = collector();
      await consume({ group: uniquePrefix('g'), topics: [t] }, c.handler);
      await eventually(() => expect(c.values().sort()).toEqual(['d-0', 'd-1', 'd-2']), WAIT);
    });
  });
}
