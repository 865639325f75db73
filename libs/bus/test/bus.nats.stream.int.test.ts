/**
 * Stream CHAT lifecycle: the window of an existing stream follows the configuration, and the epoch
 * names the stream's incarnation (unchanged by reconnecting, changed by recreating the stream);
 * CHAT_LOG follows a recreated CHAT.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { STREAM_CHAT } from '@parley/protocol';
import { eventually, type ServerHandle, startNats } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/bus.nats.ts';

describe('NATS bus: stream CHAT', () => {
  let nats: ServerHandle;
  beforeAll(async () => {
    nats = await startNats({ own: true });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('creates the stream, updates its window, and changes epoch only when recreated', async () => {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const first = await createNatsBus({ servers: nats.url, name: 'w1', window: { maxPerRoom: 7 } });
    const created = await jsm.streams.info(STREAM_CHAT);
    expect(created.config).toMatchObject({
      subjects: ['chat.in.>'],
      republish: { src: 'chat.in.>', dest: 'chat.room.>' },
      allow_direct: true,
      storage: 'file',
      max_msgs_per_subject: 7,
    });
    const second = await createNatsBus({
      servers: nats.url,
      name: 'w2',
      window: { maxPerRoom: 9, maxAgeMs: 60_000 },
    });
    const updated = await jsm.streams.info(STREAM_CHAT);
    expect(updated.config.max_msgs_per_subject).toBe(9);
    expect(updated.config.max_age).toBe(60_000 * 1_000_000);
    expect(updated.config.duplicate_window).toBe(60_000 * 1_000_000);
    expect(second.chat.epoch).toBe(first.chat.epoch);
    await Promise.all([first.close(), second.close()]);

    await jsm.streams.delete(STREAM_CHAT);
    const third = await createNatsBus({ servers: nats.url, name: 'w3' });
    expect(third.chat.epoch).not.toBe(first.chat.epoch);
    expect((await third.chat.append('r', '{}', 'm1')).seq).toBe(1);
    // CHAT_LOG followed the new incarnation (a source of the old one would stall on seqs it passed).
    const log = await jsm.streams.info('CHAT_LOG');
    expect(log.config.metadata?.['parley.chat_epoch']).toBe(third.chat.epoch);
    const got: number[] = [];
    const consumer = third.chat.consume('after-recreate', async (b) => {
      got.push(...b.map((r) => r.seq));
    });
    await eventually(() => expect(got).toEqual([1]));
    await consumer.stop();
    await third.close();
    await nc.close();
  });
});
