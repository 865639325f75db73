import { eventually } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import { streamContract } from './stream.contract.ts';
import { createMemoryStream } from './stream.memory.ts';

streamContract('memory', async () => {
  const stream = createMemoryStream();
  return { stream, cleanup: () => stream.stop() };
});

describe('memory stream bounds', () => {
  it('drops records once every group that consumes the topic has committed past them', async () => {
    const stream = createMemoryStream({ partitions: 2 });
    await stream.ensureTopics([{ topic: 't' }]);
    const seen: string[] = [];
    const fast = await stream.consume({ group: 'fast', topics: ['t'] }, async (b) => {
      seen.push(...b.map((r) => r.value));
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = await stream.consume({ group: 'slow', topics: ['t'] }, () => gate);
    await stream.send(
      't',
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    await eventually(() => expect(seen).toHaveLength(50));
    expect(stream.retained('t')).toBe(50);
    release();
    await eventually(async () => expect(await slow.lag()).toBe(0));
    expect(stream.retained('t')).toBe(0);
    await fast.stop();
    await slow.stop();
    await stream.stop();
  });

  it('keeps at most retainWithoutGroup records per partition of a topic nobody consumes', async () => {
    const stream = createMemoryStream({ partitions: 1, retainWithoutGroup: 10 });
    await stream.ensureTopics([{ topic: 't' }]);
    await stream.send(
      't',
      Array.from({ length: 25 }, (_, i) => ({ key: 'k', value: `v${i}` })),
    );
    expect(stream.retained('t')).toBe(10);
    const seen: string[] = [];
    await stream.consume({ group: 'late', topics: ['t'] }, async (b) => {
      seen.push(...b.map((r) => r.value));
    });
    await eventually(() => expect(seen).toHaveLength(10));
    expect(seen[0]).toBe('v15');
    await stream.stop();
  });

  it('rejects sends to a topic that was never ensured', async () => {
    const stream = createMemoryStream();
    await expect(stream.send('nope', [{ key: 'k', value: 'v' }])).rejects.toMatchObject({
      name: 'StreamError',
      kind: 'unknown_topic',
    });
  });
});
