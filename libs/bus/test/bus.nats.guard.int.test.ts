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
  /** `writers` buses (gateways) each append `burst` messages to one room at once. */
  /**
   * `live`: the durable consumes during the burst, as a running bridge does (CHAT_LOG is then often
   * empty, and the copied position comes from its last seq); otherwise it starts after, and
   * CHAT_LOG holds every message meanwhile.
   */
  async function run(
    window: number,
    burst: number,
    writers: number,
    live: boolean,
    maxUncopied?: number,
  ): Promise<void> {
    await using nats = await startNats({ own: true });
    const buses = await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        createNatsBus({
          servers: nats.url,
          name: `guard-${w}`,
          window: { maxPerRoom: window },
          ...(maxUncopied ? { chatLog: { maxUncopied } } : {}),
        }),
      ),
    );
    try {
      const [bus] = buses as [Bus];
      const room = uniquePrefix('guard');
      const delivered = new Set<number>();
      const gaps: SourceGap[] = [];
      const consume = () =>
        bus.chat.consume(
          'guarded',
          async (batch) => {
            for (const r of batch) delivered.add(r.seq);
          },
          { onSourceGap: (g) => gaps.push(g) },
        );
      const early = live ? consume() : undefined;
      const acked = (
        await Promise.all(
          buses.flatMap((b, w) =>
            Array.from({ length: burst }, (_, i) => appendUntilAcked(b, room, w * burst + i)),
          ),
        )
      ).sort((a, b) => a - b);
      const consumer = early ?? consume();
      // Every message arrives, or is reported missing (the room's last `window` always arrive).
      const missing = () => gaps.reduce((n, g) => n + g.missing, 0);
      await eventually(() => expect(delivered.size + missing()).toBeGreaterThanOrEqual(acked.length), WAIT);
      await consumer.stop();
      const held = await bus.chat.readAfter(room, 0, window + 1);
      console.log(
        `window ${window}, ${writers} x ${burst}${live ? ' (live)' : ''}: ${delivered.size} delivered, ${missing()} missing; CHAT kept ${held.messages.length}`,
      );
      expect(acked.filter((s) => !delivered.has(s))).toEqual([]);
      expect(gaps).toEqual([]);
      // The burst did go past the window: CHAT evicted all but the room's last `window` messages.
      expect(held.messages).toHaveLength(window);
    } finally {
      await Promise.all(buses.map((b) => b.close()));
    }
  }

  for (const [window, burst, live] of [
    [5, 30, true],
    [20, 100, false],
    [100, 1000, true],
  ] as const) {
    it(
      `window ${window}, ${burst} appends to one room at once, durable ${live ? 'live' : 'started after'}: every acked message reaches it`,
      () => run(window, burst, 1, live),
      120_000,
    );
  }

  it(
    'window 20, two gateways appending 100 each to one room at once (each lets 10 wait): none lost',
    () => run(20, 100, 2, false),
    120_000,
  );

  it(
    'window 20, four gateways appending 100 each to one room at once, each letting 5 wait, durable live: none lost',
    () => run(20, 100, 4, true, 5),
    120_000,
  );
});
