/**
 * The append guard turns the history feed's loss into backpressure: the bursts that lost messages
 * before CHAT_LOG copied them (docs/architecture.md: window 5 / 30, 20 / 100, 100 / 1,000, all
 * appended at once on one connection) now reach the durable whole, with no source gap reported.
 * bus.nats.gap.int.test.ts shows the same kind of burst, published around the guard, losing.
 * Each case has its own server: the window is server-wide.
 */
import { eventually, startNats, uniquePrefix } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/bus.nats.ts';
import { type Bus, isBusError, type SourceGap } from '../src/bus.ts';

const WAIT = { timeoutMs: 60_000, intervalMs: 100 };

/** Appends like a client that retries a refused publish with the same clientMsgId. */
async function appendUntilAcked(bus: Bus, room: string, i: number): Promise<number> {
  for (;;) {
    try {
      return (await bus.chat.append(room, `{"i":${i}}`, `${room}:${i}`)).seq;
    } catch (e) {
      if (!isBusError(e, 'unavailable')) throw e;
    }
  }
}

describe('NATS bus: appends wait for CHAT_LOG instead of outrunning it', () => {
  for (const [window, burst] of [
    [5, 30],
    [20, 100],
    [100, 1000],
  ] as const) {
    it(`window ${window}, ${burst} appends to one room at once: every acked message reaches the durable`, async () => {
      await using nats = await startNats({ own: true });
      const bus = await createNatsBus({ servers: nats.url, name: 'guard', window: { maxPerRoom: window } });
      try {
        const room = uniquePrefix('guard');
        const acked = await Promise.all(
          Array.from({ length: burst }, (_, i) => appendUntilAcked(bus, room, i)),
        );
        const delivered = new Set<number>();
        const gaps: SourceGap[] = [];
        const consumer = bus.chat.consume(
          'guarded',
          async (batch) => {
            for (const r of batch) delivered.add(r.seq);
          },
          { onSourceGap: (g) => gaps.push(g) },
        );
        // Every message arrives, or is reported missing (the room's last `window` always arrive).
        const missing = () => gaps.reduce((n, g) => n + g.missing, 0);
        await eventually(() => expect(delivered.size + missing()).toBeGreaterThanOrEqual(burst), WAIT);
        await consumer.stop();
        const window0 = await bus.chat.readAfter(room, 0, window + 1);
        console.log(
          `window ${window}, burst ${burst}: ${delivered.size} delivered; CHAT kept ${window0.messages.length}`,
        );
        expect(acked.filter((s) => !delivered.has(s))).toEqual([]);
        expect(gaps).toEqual([]);
        // The burst did go past the window: CHAT evicted all but the room's last `window` messages.
        expect(window0.messages).toHaveLength(window);
      } finally {
        await bus.close();
      }
    }, 120_000);
  }
});
