/**
 * What NatsSubjectRefs relies on in nats.js's protocol handler beyond the contract suite: its
 * subjects are subscribed again after a reconnect, a connection drain delivers what was published
 * before it and then ends every subject, queued changes go out with the turn, and a closed
 * connection leaves none held. Core NATS only, so the run's shared server is enough.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventually, type ServerHandle, startNats, uniquePrefix } from '@parley/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NatsSubjectRefs } from '../src/bus.nats.subjects.ts';

const WAIT = { timeoutMs: 15_000 };

describe('NATS subject refs', () => {
  let nats: ServerHandle;
  let nc: NatsConnection;
  let other: NatsConnection;
  let p: string;
  beforeAll(async () => {
    nats = await startNats({ own: true });
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
    const refs = new NatsSubjectRefs<string>(
      nc,
      (key, m) => m.respond(key),
      () => {},
    );
    refs.acquire(`${p}.a`, 'A');
    refs.acquire(`${p}.b`, 'B');
    refs.acquire(`${p}.c`, 'C');
    refs.sendPending();
    await nc.flush();
    expect(await ask(`${p}.c`)).toBe('C');
    refs.release(`${p}.c`);
    refs.sendPending();
    await nc.flush();
    expect(await ask(`${p}.a`)).toBe('A');

    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return;
    })();
    await nc.reconnect();
    await reconnected;
    await nc.flush();
    expect(refs.size).toBe(2);
    expect(await ask(`${p}.a`)).toBe('A');
    expect(await ask(`${p}.b`)).toBe('B');
    expect(await ask(`${p}.c`)).toMatch(/no responders/);
  });

  it('a drain delivers what was published before it, then ends every subject', async () => {
    const got: string[] = [];
    const refs = new NatsSubjectRefs<number>(
      nc,
      (key, m) => got.push(`${key}:${m.string()}`),
      () => {},
    );
    for (let i = 0; i < 50; i++) refs.acquire(`${p}.u${i}`, i);
    refs.sendPending();
    await nc.flush();
    for (let i = 0; i < 50; i++) other.publish(`${p}.u${i}`, 'x');
    await other.flush();
    await nc.drain();
    expect(got.length).toBe(50);
    expect(new Set(got).size).toBe(50);
    expect(refs.size).toBe(0);
    expect(nc.isClosed()).toBe(true);
    expect(() => refs.acquire(`${p}.late`, 99)).toThrow(/closed/);
    await eventually(async () => expect(await ask(`${p}.u0`)).toMatch(/no responders/), WAIT);
  });

  it('queued changes go out with the turn: acquired and released in one turn sends nothing', async () => {
    const refs = new NatsSubjectRefs<string>(
      nc,
      (key, m) => m.respond(key),
      () => {},
    );
    refs.acquire(`${p}.kept`, 'K');
    refs.acquire(`${p}.brief`, 'B');
    refs.release(`${p}.brief`);
    await new Promise((r) => setImmediate(r));
    await nc.flush();
    expect(await ask(`${p}.kept`)).toBe('K');
    expect(await ask(`${p}.brief`)).toMatch(/no responders/);
    expect(refs.size).toBe(1);
  });

  it('a closed connection leaves no subject held', async () => {
    const refs = new NatsSubjectRefs<number>(
      nc,
      () => {},
      () => {},
    );
    refs.acquire(`${p}.x`, 1);
    refs.sendPending();
    refs.acquire(`${p}.y`, 2);
    await nc.close();
    expect(refs.size).toBe(0);
  });
});
