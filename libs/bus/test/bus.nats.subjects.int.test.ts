/**
 * What NatsSubjectSet relies on in nats.js's protocol handler beyond the contract suite: its
 * subjects are subscribed again after a reconnect, a connection drain delivers what was published
 * before it and then ends every subject, and a closed connection leaves the set empty. Core NATS
 * only, so the run's shared server is enough.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventually, type ServerHandle, startNats, uniquePrefix } from '@parley/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NatsSubjectSet } from '../src/bus.nats.subjects.ts';

const WAIT = { timeoutMs: 15_000 };

describe('NATS subject set', () => {
  let nats: ServerHandle;
  let nc: NatsConnection;
  let other: NatsConnection;
  let p: string;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.[Symbol.asyncDispose]();
  });
  beforeEach(async () => {
    [nc, other] = await Promise.all([
      connect({ servers: nats.url, reconnectTimeWait: 100 }),
      connect({ servers: nats.url }),
    ]);
    p = uniquePrefix('subjects');
  });
  afterEach(async () => {
    await Promise.all([nc.close(), other.close()]);
  });

  /** The reply of whoever holds `subject`, or the error's message (no responders: no interest). */
  const ask = (subject: string) =>
    other.request(subject, '', { timeout: 5_000 }).then(
      (m) => m.string(),
      (e: Error) => e.message,
    );

  it('subscribes its subjects again after a reconnect', async () => {
    const set = new NatsSubjectSet<string>(
      nc,
      (key, m) => m.respond(key),
      () => {},
    );
    set.add(`${p}.a`, 'A');
    set.add(`${p}.b`, 'B');
    set.add(`${p}.c`, 'C');
    set.delete(`${p}.c`);
    await nc.flush();
    expect(await ask(`${p}.a`)).toBe('A');

    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return;
    })();
    await nc.reconnect();
    await reconnected;
    await nc.flush();
    expect(set.size).toBe(2);
    expect(await ask(`${p}.a`)).toBe('A');
    expect(await ask(`${p}.b`)).toBe('B');
    expect(await ask(`${p}.c`)).toMatch(/no responders/);
  });

  it('a drain delivers what was published before it, then ends every subject', async () => {
    const got: string[] = [];
    const set = new NatsSubjectSet<number>(
      nc,
      (key, m) => got.push(`${key}:${m.string()}`),
      () => {},
    );
    for (let i = 0; i < 50; i++) set.add(`${p}.u${i}`, i);
    await nc.flush();
    for (let i = 0; i < 50; i++) other.publish(`${p}.u${i}`, 'x');
    await other.flush();
    await nc.drain();
    expect(got.length).toBe(50);
    expect(new Set(got).size).toBe(50);
    expect(set.size).toBe(0);
    expect(nc.isClosed()).toBe(true);
    expect(() => set.add(`${p}.late`, 99)).toThrow(/closed/);
    await eventually(async () => expect(await ask(`${p}.u0`)).toMatch(/no responders/), WAIT);
  });

  it('a closed connection leaves the set empty', async () => {
    const set = new NatsSubjectSet<number>(
      nc,
      () => {},
      () => {},
    );
    set.add(`${p}.x`, 1);
    await nc.close();
    expect(set.size).toBe(0);
  });
});
