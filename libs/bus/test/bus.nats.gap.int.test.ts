/**
 * Stream CHAT_LOG copies CHAT asynchronously, so a burst in one room that gets ahead of the copy by
 * more than the room's window makes CHAT evict messages CHAT_LOG never gets (docs/architecture.md).
 * consume() must report them: exactly as many as were acked by CHAT and never delivered, with one
 * consumer and with two sharing a durable. The burst is published raw (pipelined JetStream
 * publishes on one connection), the way an ingress that outruns the copy does it. Its own server:
 * the window is server-wide.
 */
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Subjects } from '@parley/protocol';
import { eventually, type ServerHandle, startNats, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/bus.nats.ts';
import type { Bus, ChatConsumer, SourceGap } from '../src/bus.ts';

const WINDOW = 5;
const BURST = 300;
const WAIT = { timeoutMs: 30_000, intervalMs: 100 };

describe('NATS bus: messages CHAT evicted before CHAT_LOG copied them are reported, never silent', () => {
  let nats: ServerHandle;
  let bus: Bus;
  let nc: NatsConnection;
  const room = uniquePrefix('gap');
  let acked: number[] = [];

  beforeAll(async () => {
    nats = await startNats({ own: true });
    bus = await createNatsBus({ servers: nats.url, name: 'gap', window: { maxPerRoom: WINDOW } });
    nc = await connect({ servers: nats.url });
    const js = jetstream(nc);
    const acks = await Promise.all(
      Array.from({ length: BURST }, (_, i) => js.publish(Subjects.chatIn(room), `{"i":${i}}`)),
    );
    acked = acks.map((a) => a.seq);
    const jsm = await jetstreamManager(nc);
    // Both tests' durables exist before either acks: CHAT_LOG (interest retention) keeps each
    // message until both have it.
    for (const durable of ['one', 'shared'])
      await jsm.consumers.add('CHAT_LOG', { durable_name: durable, ack_policy: AckPolicy.Explicit });
    // The copy has caught up: nothing left to source, and CHAT_LOG stopped growing.
    let last = -1;
    await eventually(async () => {
      const si = await jsm.streams.info('CHAT_LOG');
      const settled = si.sources?.[0]?.lag === 0 && si.state.last_seq === last;
      last = si.state.last_seq;
      expect(settled).toBe(true);
    }, WAIT);
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await nc?.close();
    await nats?.stop();
  });

  /** Runs consumers on one durable until every copied message was delivered. */
  async function drain(durable: string, instances: number) {
    const delivered = new Set<number>();
    const gaps: SourceGap[][] = Array.from({ length: instances }, () => []);
    const consumers: ChatConsumer[] = gaps.map((mine) =>
      bus.chat.consume(
        durable,
        async (batch) => {
          for (const r of batch) if (r.room === room) delivered.add(r.seq);
        },
        { batch: 8, onSourceGap: (g) => mine.push(g) },
      ),
    );
    await eventually(async () => expect(await consumers[0]?.pending()).toBe(0), WAIT);
    await Promise.all(consumers.map((c) => c.stop()));
    const missing = acked.filter((s) => !delivered.has(s));
    return { delivered, gaps, missing };
  }

  it('one consumer: the count of missing messages is exact and every one lies inside a reported range', async () => {
    const { delivered, gaps, missing } = await drain('one', 1);
    const mine = gaps[0] ?? [];
    console.log(`window ${WINDOW}, burst ${BURST}: ${delivered.size} copied, ${missing.length} lost`);
    expect(
      missing.length,
      'the burst outran the copy (otherwise there is nothing to detect)',
    ).toBeGreaterThan(0);
    expect(mine.reduce((n, g) => n + g.missing, 0)).toBe(missing.length);
    expect(mine.at(-1)?.lost).toBe(missing.length);
    for (const s of missing)
      expect(
        mine.some((g) => g.afterSeq < s && s < g.beforeSeq),
        `seq ${s} in a reported range`,
      ).toBe(true);
  });

  it('two consumers sharing a durable: each reports the same total (a level, not a share)', async () => {
    const { gaps, missing } = await drain('shared', 2);
    const totals = gaps.map((g) => g.at(-1)?.lost ?? 0);
    expect(Math.max(...totals)).toBe(missing.length);
    for (const t of totals) expect(t).toBeLessThanOrEqual(missing.length);
  });
});
