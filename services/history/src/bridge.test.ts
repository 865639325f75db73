import { type ChatLog, createMemoryBus, type SourceGap } from '@parley/bus';
import { createTestLogger } from '@parley/log';
import { createMemoryStream } from '@parley/stream';
import { expect, it } from 'vitest';
import { Bridge } from './bridge.ts';
import { createHistoryMetrics } from './metrics.ts';
import { Stats } from './stats.ts';

it('messages the bus reports missing from the history feed are counted as a level, logged with the fix, and in ops.stats', async () => {
  const { bus } = createMemoryBus();
  let report: (gap: SourceGap) => void = () => {};
  // The memory driver never loses a message before the feed: a ChatLog that reports gaps stands in.
  const chat: ChatLog = {
    ...bus.chat,
    consume: (_durable, _handler, opts) => {
      report = opts?.onSourceGap ?? report;
      return { stop: async () => {}, pending: async () => 0 };
    },
  };
  const metrics = createHistoryMetrics('h1');
  const logs = createTestLogger();
  const bridge = new Bridge({
    chat,
    stream: createMemoryStream(),
    metrics,
    log: logs.logger,
    durable: 'd',
    topic: 't',
    batch: 10,
  });
  bridge.start();
  report({ missing: 3, lost: 3, afterSeq: 10, beforeSeq: 14 });
  // Another instance's report reached this one late: the level never goes down.
  report({ missing: 2, lost: 7, afterSeq: 20, beforeSeq: 23 });
  report({ missing: 1, lost: 5, afterSeq: 30, beforeSeq: 32 });

  expect(bridge.sourceGap).toBe(7);
  expect((await metrics.sourceGap.get()).values[0]?.value).toBe(7);
  const errors = logs.lines().filter((l) => l.level === 'error');
  expect(errors).toHaveLength(3);
  expect(errors[0]).toMatchObject({ missing: 3, lost: 3, betweenSeqs: [10, 14] });
  expect(String(errors[0]?.fix)).toContain('CHAT_WINDOW_MESSAGES');

  const writer = { written: 0, deadLettered: 0, lag: async () => 0 };
  const stats = await new Stats(bus, 'h1', 1000, bridge, writer, metrics).tick();
  expect(stats?.sourceGap).toBe(7);
  await bridge.stop();
  await bus.close();
});
