import type { InRecord } from '@parley/stream';
import { eventually } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import { appendChat, startMemoryHistory } from './testing.ts';

describe('bridge + writer on memory drivers', () => {
  it('persists every appended message exactly once, seq-ordered per room', async () => {
    await using h = await startMemoryHistory({ HISTORY_BRIDGE_BATCH: '7', HISTORY_WRITER_BATCH: '5' });
    const acked = new Map<string, number[]>();
    for (let i = 0; i < 200; i++) {
      const room = `room-${i % 5}`;
      const seqs = acked.get(room) ?? [];
      seqs.push(await appendChat(h.bus, room, i));
      acked.set(room, seqs);
    }
    await eventually(async () => {
      for (const [room, seqs] of acked) {
        const page = await h.stores.messages.page(room, undefined, 1000);
        expect(page.messages.map((m) => m.seq)).toEqual(seqs);
      }
    });
    expect(h.service.writer.written).toBe(200);
    expect(await h.service.bridge.pending()).toBe(0);
  });

  it('writes a redelivered batch once', async () => {
    await using h = await startMemoryHistory();
    await appendChat(h.bus, 'dup', 1);
    await eventually(async () => expect(await h.stores.messages.lastSeq('dup')).toBe(1));
    const [rec] = await h.stores.messages.page('dup', undefined, 10).then((p) => p.messages);
    const { prev: _prev, ...stored } = rec!;
    const record: InRecord = {
      topic: 'chat.messages',
      partition: 0,
      offset: '0',
      timestamp: 0,
      key: 'dup',
      value: JSON.stringify(stored),
    };
    await h.service.writer.handle([record, record]);
    expect((await h.stores.messages.page('dup', undefined, 10)).messages).toHaveLength(1);
  });

  it('moves a poison record to the dead-letter topic and keeps the partition flowing', async () => {
    await using h = await startMemoryHistory();
    const dead: InRecord[] = [];
    const dlq = await h.stream.consume({ group: 'dlq', topics: ['chat.messages.dead'] }, async (b) => {
      dead.push(...b);
    });
    await h.stream.send('chat.messages', [{ key: 'p', value: '{not json' }]);
    const seq = await appendChat(h.bus, 'p', 1);
    await eventually(async () => expect(await h.stores.messages.lastSeq('p')).toBe(seq));
    await eventually(() => expect(dead.map((r) => r.value)).toEqual(['{not json']));
    expect(dead[0]?.headers?.error).toBe('value: not JSON');
    expect(
      await h.service.metrics.registry.getSingleMetricAsString('parley_history_dead_letters_total'),
    ).toMatch(/parley_history_dead_letters_total\{[^}]*\} 1/);
    expect(
      h.logs.lines().some((l) => l.msg === 'writer: invalid records moved to the dead-letter topic'),
    ).toBe(true);
    await dlq.stop();
  });

  it('retries a failing store with back-off and then writes', async () => {
    let failures = 3;
    await using h = await startMemoryHistory(
      { HISTORY_RETRY_MIN: '5ms', HISTORY_RETRY_MAX: '20ms' },
      (s) => ({
        ...s,
        sink: {
          write: (batch) => (failures-- > 0 ? Promise.reject(new Error('mongo down')) : s.sink.write(batch)),
        },
      }),
    );
    const seq = await appendChat(h.bus, 'flaky', 1);
    await eventually(async () => expect(await h.stores.messages.lastSeq('flaky')).toBe(seq));
    const retries = await h.service.metrics.retries.get();
    expect(retries.values.find((v) => v.labels.stage === 'writer')?.value).toBe(3);
  });

  it('drain ends the back-off of every partition retrying a failing store', async () => {
    // Ten minutes of back-off: drain() can only resolve within the test's timeout if stop() wakes
    // every sleeping partition, not just the last one that went to sleep.
    const h = await startMemoryHistory({ HISTORY_RETRY_MIN: '600s', HISTORY_RETRY_MAX: '600s' }, (s) => ({
      ...s,
      sink: { write: () => Promise.reject(new Error('mongo down')) },
    }));
    for (let i = 0; i < 20; i++) await appendChat(h.bus, `down-${i}`, i);
    await eventually(async () => {
      const retries = await h.service.metrics.retries.get();
      expect(retries.values.find((v) => v.labels.stage === 'writer')?.value).toBeGreaterThanOrEqual(2);
    });
    await h.service.drain();
    expect(h.service.writer.written).toBe(0);
    await h.stream.stop();
    await h.bus.close();
  });

  it('publishes a stats heartbeat on ops.stats', async () => {
    await using h = await startMemoryHistory({ HISTORY_STATS_INTERVAL: '50ms' });
    await appendChat(h.bus, 'stats', 1);
    const seen: Record<string, unknown>[] = [];
    h.bus.subscribe('ops.stats', (m) => seen.push(JSON.parse(m.string())));
    await eventually(() => expect(seen.some((s) => s.written === 1)).toBe(true));
    expect(seen[0]).toMatchObject({
      service: 'history',
      instance: h.service.id,
      bridgePending: expect.any(Number),
    });
  });
});
