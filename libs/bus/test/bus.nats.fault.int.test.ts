/**
 * The guarantee under a crash: nats-server (JetStream on disk) is killed with SIGKILL while a
 * consumer runs. Appends during the outage fail fast with 'unavailable' (never hang); after the
 * restart every acked message is still in the stream, the running consumer resumes without loss,
 * and the stream keeps its epoch (same incarnation).
 */
import type { ChatRecord } from '@parley/bus';
import { eventually, type ServerHandle, startNats, uniquePrefix } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../src/bus.nats.ts';
import { type Bus, isBusError } from '../src/bus.ts';

const APPEND_TIMEOUT_MS = 1_000;
const ACK_WAIT_MS = 3_000;

describe('NATS bus through a kill -9 of nats-server', () => {
  let nats: ServerHandle;
  let bus: Bus;
  beforeAll(async () => {
    nats = await startNats({ own: true });
    bus = await createNatsBus({
      servers: nats.url,
      name: 'fault',
      appendTimeoutMs: APPEND_TIMEOUT_MS,
      consumerAckWaitMs: ACK_WAIT_MS,
    });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.stop();
  });

  it('loses no acked message and keeps consuming', async () => {
    const room = uniquePrefix('fault');
    const consumed: ChatRecord[] = [];
    const consumer = bus.chat.consume('fault-bridge', async (batch) => {
      consumed.push(...batch.filter((r) => r.room === room));
    });
    const acked: number[] = [];
    const append = async (i: number) => {
      acked.push((await bus.chat.append(room, `{"i":${i}}`, `${room}:${i}`)).seq);
    };
    for (let i = 0; i < 20; i++) await append(i);
    const epoch = bus.chat.epoch;

    await nats.kill();
    await eventually(() => expect(bus.connected).toBe(false));
    const started = Date.now();
    const failed = await bus.chat.append(room, '{"lost":true}', `${room}:outage`).catch((e: unknown) => e);
    expect(isBusError(failed, 'unavailable')).toBe(true);
    expect(Date.now() - started).toBeLessThan(APPEND_TIMEOUT_MS + 1_500);
    await expect(bus.ping(300)).rejects.toThrow();

    await nats.start();
    // The same msgId until it is acked: retries of one message are deduplicated by the stream.
    await eventually(() => append(20), { timeoutMs: 30_000 });
    for (let i = 21; i < 40; i++) await append(i);
    expect(bus.connected).toBe(true);
    expect(bus.chat.epoch).toBe(epoch);

    const read = await bus.chat.readAfter(room, 0, 1_000);
    const stored = read.messages.map((m) => m.seq);
    for (const seq of acked) expect(stored).toContain(seq);
    expect(new Set(acked).size).toBe(40);
    expect(await bus.chat.lastSeq(room)).toBe(acked.at(-1));

    await eventually(() => expect(new Set(consumed.map((r) => r.seq))).toEqual(new Set([...stored])), {
      timeoutMs: 45_000,
    });
    // Deliveries whose acks the killed server had not persisted come again after ack_wait.
    await eventually(async () => expect(await consumer.pending()).toBe(0), { timeoutMs: 45_000 });
    await consumer.stop();
  });
});
