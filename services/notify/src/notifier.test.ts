/**
 * Live delivery across attempts of one idempotency key (memory drivers): a retry finishes what an
 * interrupted attempt left undone, and no user gets a live copy twice.
 */
import { createTestLogger } from '@parley/log';
import { type Notification, Subjects, type UserEvent } from '@parley/protocol';
import { createMemoryInfra } from '@parley/runtime';
import type { Stores } from '@parley/store';
import { eventually } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import { createNotifyMetrics } from './metrics.ts';
import { Notifier } from './notifier.ts';
import type { NotifyInput } from './request.ts';

const USERS = ['a', 'b', 'c', 'd', 'e']; // batches of 2: [a,b] [c,d] [e]
const input: NotifyInput = { to: { users: USERS }, title: 'Invoice', body: 'ready' };
const settle = () => new Promise((r) => setTimeout(r, 30));

function setup() {
  const infra = createMemoryInfra();
  const received = new Map<string, Notification[]>(USERS.map((u) => [u, []]));
  const listener = infra.broker.connect();
  for (const user of USERS)
    listener.subscribe(Subjects.user(user), (m) => {
      const ev = JSON.parse(m.string()) as UserEvent;
      if (ev.kind === 'frame') received.get(user)?.push(JSON.parse(ev.frame).notification);
    });
  const notifier = (stores: Stores = infra.stores) =>
    new Notifier({
      stores,
      bus: infra.broker.connect(),
      metrics: createNotifyMetrics('test'),
      log: createTestLogger().logger,
      batchSize: 2,
      defaultTtlMs: 60_000,
      idempotencyTtlMs: 60_000,
    });
  const copies = () => USERS.map((u) => received.get(u)?.length);
  return { infra, received, notifier, copies };
}

/** `target` with some methods replaced (the others bound to it: drivers keep #private state). */
function override<T extends object>(target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get(t, name) {
      if (name in methods) return methods[name as keyof T];
      const v = Reflect.get(t, name);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

/**
 * The stores as a process that dies mid fan-out sees them: batch 0 ([a,b]) is stored, published
 * and marked; batch 1 ([c,d]) is stored, then the process dies before publishing it; batch 2 ([e])
 * is never stored.
 */
function dyingStores(stores: Stores): Stores {
  let inserts = 0;
  return {
    ...stores,
    inbox: override(stores.inbox, {
      insertMany: async (rows: Parameters<Stores['inbox']['insertMany']>[0]) => {
        const n = await stores.inbox.insertMany(rows);
        if (++inserts === 2) throw new Error('killed');
        return n;
      },
    }),
  };
}

describe('Notifier: live delivery of a keyed request', () => {
  it('a retry delivers live what the interrupted attempt stored or skipped, and nothing twice', async () => {
    const { infra, received, notifier, copies } = setup();
    const first = notifier(dyingStores(infra.stores));
    await expect(first.accept(input, 'key:k1')).rejects.toThrow('killed');
    await first.drain();
    await settle();
    expect(copies()).toEqual([1, 1, 0, 0, 0]);

    const retry = notifier();
    const answer = await retry.accept(input, 'key:k1');
    expect(answer).toMatchObject({ recipients: 5, replayed: true });
    await retry.drain();
    await eventually(() => expect(copies()).toEqual([1, 1, 1, 1, 1]));
    const ids = USERS.map((u) => received.get(u)?.[0]?.id);
    expect(ids).toEqual(USERS.map((u) => `${answer.id}:${u}`));

    expect(await notifier().accept(input, 'key:k1')).toEqual(answer);
    await settle();
    expect(copies()).toEqual([1, 1, 1, 1, 1]);
    expect((await infra.stores.inbox.unread('c', 10)).unread.map((n) => n.id)).toEqual([`${answer.id}:c`]);
  });

  it('concurrent retries of an interrupted request deliver each row once, with one answer', async () => {
    const { infra, notifier, copies } = setup();
    const first = notifier(dyingStores(infra.stores));
    await expect(first.accept(input, 'key:k2')).rejects.toThrow('killed');
    await first.drain();
    const [a, b] = [notifier(), notifier()];
    const answers = await Promise.all([a.accept(input, 'key:k2'), b.accept(input, 'key:k2')]);
    await Promise.all([a.drain(), b.drain()]);
    expect(answers[1]).toEqual(answers[0]);
    await eventually(() => expect(copies()).toEqual([1, 1, 1, 1, 1]));
    await settle();
    expect(copies()).toEqual([1, 1, 1, 1, 1]);
  });

  it('delivers a request without a key at once, and its repeat is a second notification', async () => {
    const { notifier, copies, received } = setup();
    const n = notifier();
    const [x, y] = [await n.accept(input), await n.accept(input)];
    expect(x.id).not.toBe(y.id);
    await eventually(() => expect(copies()).toEqual([2, 2, 2, 2, 2]));
    expect(received.get('e')?.map((r) => r.id)).toEqual([`${x.id}:e`, `${y.id}:e`]);
  });
});
