/**
 * ChatLog.consume reads stream CHAT_LOG (sources CHAT, interest retention), so a bridge that
 * lags more than a room's window behind (Kafka down, a burst in one room) still gets every message.
 * A tiny window (5 per room) makes CHAT evict within the test; its own server, because CHAT and
 * CHAT_LOG are one named stream each per server.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventually, type ServerHandle, startNats, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/bus.nats.ts';
import type { Bus, ChatRecord } from '../src/bus.ts';

const WAIT = { timeoutMs: 15_000 };

describe('NATS bus: consume never loses a message evicted from the window', () => {
  let nats: ServerHandle;
  let bus: Bus;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNats({ own: true });
    bus = await createNatsBus({
      servers: nats.url,
      name: 'chatlog',
      window: { maxPerRoom: 5 },
      consumerAckWaitMs: 2_000,
    });
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await bus?.close();
    await nc?.close();
    await nats?.stop();
  });

  const appendMany = async (room: string, from: number, n: number): Promise<ChatRecord[]> => {
    const out: ChatRecord[] = [];
    for (let i = from; i < from + n; i++) {
      const { seq } = await bus.chat.append(room, `{"i":${i}}`, `${room}:${i}`);
      out.push({ room, seq, data: `{"i":${i}}` });
    }
    return out;
  };

  /** Records of `room` from accepted batches; `down()` true makes the handler reject (sink down). */
  const run = (durable: string, room: string, down: () => boolean = () => false) => {
    const accepted: ChatRecord[] = [];
    let rejected = 0;
    const consumer = bus.chat.consume(
      durable,
      async (batch) => {
        const mine = batch.filter((r) => r.room === room);
        if (down()) {
          rejected++;
          throw new Error('sink down');
        }
        accepted.push(...mine);
      },
      { batch: 16 },
    );
    return { accepted, consumer, rejected: () => rejected };
  };

  it('50 appends to one room before the first consumer starts: all 50 arrive once, in order, with their CHAT seqs', async () => {
    const room = uniquePrefix('burst');
    const appended = await appendMany(room, 0, 50);
    // CHAT itself kept only the window.
    const window = await bus.chat.readAfter(room, 0, 100);
    expect(window.messages.map((m) => m.seq)).toEqual(appended.slice(-5).map((r) => r.seq));

    const c = run('bridge', room);
    await eventually(() => expect(c.accepted.length).toBeGreaterThanOrEqual(50), WAIT);
    expect(c.accepted).toEqual(appended);
    await eventually(async () => expect(await c.consumer.pending()).toBe(0), WAIT);
    await c.consumer.stop();
  });

  it('a durable that lags far beyond the window (sink down, then stopped) loses nothing; durables are independent', async () => {
    const room = uniquePrefix('lag');
    let down = true;
    const c1 = run('bridge', room, () => down);
    const during = await appendMany(room, 0, 30);
    await eventually(() => expect(c1.rejected()).toBeGreaterThan(0), WAIT);
    await c1.consumer.stop();
    const stopped = await appendMany(room, 30, 30);
    down = false;
    const c2 = run('bridge', room);
    await eventually(() => expect(c2.accepted.length).toBeGreaterThanOrEqual(60), WAIT);
    expect(c1.accepted).toEqual([]);
    expect(c2.accepted).toEqual([...during, ...stopped]);
    await eventually(async () => expect(await c2.consumer.pending()).toBe(0), WAIT);
    await c2.consumer.stop();

    // A durable created later starts with what CHAT_LOG still holds for the others: nothing left
    // of this room (all acked), but every later message.
    const other = run('audit', room);
    const later = await appendMany(room, 60, 10);
    await eventually(() => expect(other.accepted).toEqual(later), WAIT);
    await other.consumer.stop();
  });

  it('CHAT_LOG is an interest-retention stream sourced from CHAT, and empties once every durable acked', async () => {
    const jsm = await jetstreamManager(nc);
    const si = await jsm.streams.info('CHAT_LOG');
    expect(si.config).toMatchObject({
      sources: [{ name: 'CHAT' }],
      duplicate_window: 100 * 1_000_000,
      mirror_direct: false,
      retention: 'interest',
      max_msgs_per_subject: -1,
      max_age: 7 * 24 * 3600_000 * 1_000_000,
      max_bytes: -1,
      storage: 'file',
      num_replicas: 1,
    });
    const names: string[] = [];
    for await (const ci of jsm.consumers.list('CHAT_LOG')) names.push(ci.name);
    expect(names.sort()).toEqual(['audit', 'bridge']); // the hold is gone
    // 'bridge' has not seen the 10 messages appended for 'audit': start it and let both catch up.
    const c = run('bridge', 'none');
    await eventually(async () => expect(await c.consumer.pending()).toBe(0), WAIT);
    await c.consumer.stop();
    await eventually(async () => expect((await jsm.streams.info('CHAT_LOG')).state.messages).toBe(0), WAIT);
  });
});
