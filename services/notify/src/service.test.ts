import { DEV_SECRET, signToken } from '@parley/auth';
import type { Notification, NotifyResults } from '@parley/protocol';
import { eventually } from '@parley/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startNotify } from '../test/harness.ts';

let h: Harness;
afterEach(() => h?.stop());

const note = { title: 'Invoice ready', body: 'April invoice', data: { invoice: 42 } };
type Unread = NotifyResults['unread'];

describe('POST /v1/notifications (memory drivers)', () => {
  it('stores for every listed user, delivers live to each, and answers 202 with the row count', async () => {
    h = await startNotify();
    const [alice, bob] = [h.listen('alice'), h.listen('bob')];
    const { status, json } = await h.post({ to: { users: ['alice', 'bob', 'alice'] }, ...note });
    expect(status).toBe(202);
    expect(json.recipients).toBe(2);
    await eventually(() => expect([alice.length, bob.length]).toEqual([1, 1]));
    expect(alice[0]).toMatchObject({ id: `${json.id}:alice`, ...note, read: false });
    const page = await h.query<Unread>({ op: 'unread', user: 'bob', limit: 10 });
    expect(page.unread.map((n) => n.id)).toEqual([`${json.id}:bob`]);
  });

  it('answers a retried idempotencyKey with the first answer and no second notification', async () => {
    h = await startNotify();
    const alice = h.listen('alice');
    const req = { to: { users: ['alice'] }, ...note, idempotencyKey: 'invoice-42' };
    const first = await h.post(req);
    const again = await h.post(req);
    expect(again).toEqual(first);
    await new Promise((r) => setTimeout(r, 50));
    expect(alice).toHaveLength(1);
    expect((await h.query<Unread>({ op: 'unread', user: 'alice', limit: 10 })).unread).toHaveLength(1);
  });

  it('resolves rooms (listed members; writers of an open room) and broadcasts in bounded pages', async () => {
    h = await startNotify({ NOTIFY_BATCH: '3' });
    const pages: number[] = [];
    const { directory } = h.stores;
    for (const m of ['users', 'roomUsers'] as const) {
      const orig = directory[m].bind(directory) as (...a: unknown[]) => Promise<string[]>;
      (directory as unknown as Record<string, unknown>)[m] = async (...a: unknown[]) => {
        const page = await orig(...a);
        pages.push(page.length);
        return page;
      };
    }
    const writers = Array.from({ length: 10 }, (_, i) => `w${i}`);
    await h.stores.sink.write(
      writers.map((from, i) => ({
        room: 'lobby',
        seq: i + 1,
        msgId: `m${i}`,
        from,
        body: 'hi',
        ts: 1,
        clientMsgId: `c${i}`,
      })),
    );
    expect((await h.post({ to: { room: 'lobby' }, ...note })).json.recipients).toBe(10);
    expect((await h.post({ to: { room: 'dm#ann,bo' }, ...note })).json.recipients).toBe(2);
    expect((await h.post({ to: { all: true }, ...note })).json.recipients).toBe(10);
    expect((await h.post({ to: { room: 'empty' }, ...note })).json.recipients).toBe(0);
    expect(Math.max(...pages)).toBeLessThanOrEqual(3);
    expect((await h.query<Unread>({ op: 'unread', user: 'w9', limit: 10 })).unread).toHaveLength(2);
  });

  it('refuses bad requests with the right status and a JSON error naming the problem', async () => {
    h = await startNotify({ NOTIFY_MAX_BODY_BYTES: '2048' });
    const ok = { to: { users: ['a'] }, ...note };
    const noScope = await signToken(DEV_SECRET, { sub: 'svc', scope: 'admin' });
    const forged = await signToken('another-secret-another-secret-0123456789', {
      sub: 'svc',
      scope: 'notify:send',
    });
    const cases: [Promise<{ status: number; json: { error?: string } }>, number, RegExp][] = [
      [h.post('{"to":', { raw: true }), 400, /^request: invalid JSON/],
      [h.post({ ...ok, priority: 'high' }), 400, /^priority: unknown field$/],
      [h.post({ ...ok, title: 7 }), 400, /^title: must be a string$/],
      [h.post({ ...ok, title: '' }), 400, /^title: must not be empty$/],
      [h.post({ ...ok, data: 'x'.repeat(4000) }), 413, /^request: body larger than 2048 bytes$/],
      [h.post(ok, { token: 'not-a-jwt' }), 401, /^authorization: token malformed$/],
      [h.post(ok, { token: forged }), 401, /^authorization: token signature invalid$/],
      [h.post(ok, { token: noScope }), 403, /^authorization: the token lacks scope notify:send$/],
    ];
    for (const [res, status, error] of cases) {
      const r = await res;
      expect([r.status, r.json.error]).toEqual([status, expect.stringMatching(error)]);
    }
    expect((await h.query<Unread>({ op: 'unread', user: 'a', limit: 10 })).unread).toEqual([]);
  });

  it('reuses a verified token only until it expires', async () => {
    h = await startNotify();
    // Expired 4 s ago: still inside the verifier's 5 s clock tolerance, outside it a second later.
    const shortLived = await signToken(DEV_SECRET, { sub: 'svc', scope: 'notify:send' }, { ttlSec: -4 });
    const ok = { to: { users: ['a'] }, ...note };
    expect((await h.post(ok, { token: shortLived })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 2100));
    const late = await h.post(ok, { token: shortLived });
    expect([late.status, late.json.error]).toEqual([401, 'authorization: token expired']);
  });

  it('deletes expired notifications and keys every NOTIFY_PURGE_INTERVAL', async () => {
    h = await startNotify({ NOTIFY_PURGE_INTERVAL: '50ms' });
    const expired = { id: 'gone', user: 'a', title: 't', body: 'b', createdAt: 1, read: false, expireAt: 2 };
    expect(await h.stores.inbox.insertMany([expired])).toBe(1);
    expect(await h.stores.idempotency.markOnce(['old-key'], -1000)).toEqual([true]);
    // Re-inserting succeeds only once the expired copy has been deleted.
    await eventually(async () => expect(await h.stores.inbox.insertMany([expired])).toBe(1));
    await eventually(async () =>
      expect(await h.stores.idempotency.markOnce(['old-key'], 60_000)).toEqual([true]),
    );
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/parley_notify_purged_total\{[^}]*\} [1-9]/);
  });

  it('serves health, readiness and metrics', async () => {
    h = await startNotify();
    await h.post({ to: { users: ['a'] }, ...note });
    expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(
      /parley_notify_requests_total\{[^}]*source="http"[^}]*result="accepted"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/parley_notify_stored_total\{[^}]*\} 1/);
  });
});

describe('notify.query', () => {
  it('lists unread newest first with a count of the rest, and read syncs the other devices', async () => {
    h = await startNotify();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(`${(await h.post({ to: { users: ['u'] }, ...note, title: `n${i}` })).json.id}:u`);
      await new Promise((r) => setTimeout(r, 2));
    }
    const page = await h.query<Unread>({ op: 'unread', user: 'u', limit: 2 });
    expect([page.unread.map((n) => n.title), page.more]).toEqual([['n2', 'n1'], 1]);
    const devices = h.listen('u');
    expect(await h.query({ op: 'read', user: 'u', ids: [ids[0] as string, 'other'] })).toEqual({
      updated: 1,
    });
    await eventually(() =>
      expect(devices).toEqual([expect.objectContaining({ id: ids[0], title: 'n0', read: true })]),
    );
    expect(await h.query({ op: 'read', user: 'someone-else', ids })).toEqual({ updated: 0 });
    expect(await h.query({ op: 'read', user: 'u', ids: [ids[0] as string] })).toEqual({ updated: 0 });
    expect((await h.query<Unread>({ op: 'unread', user: 'u', limit: 10 })).unread).toHaveLength(2);
    await expect(h.query({ op: 'read', user: 'u', ids: 'x' } as never)).rejects.toThrow(/^bad_request: ids:/);
  });

  it('answers unreadMany for every user of a connect batch through the bounded lookups', async () => {
    h = await startNotify({ NOTIFY_QUERY_CONCURRENCY: '2' });
    const users = Array.from({ length: 7 }, (_, i) => `m${i}`);
    await h.post({ to: { users: users.slice(0, 3) }, ...note });
    const r = await h.query<NotifyResults['unreadMany']>({ op: 'unreadMany', users, limit: 5 });
    expect(Object.keys(r.byUser).sort()).toEqual(users);
    expect(users.map((u) => r.byUser[u]?.unread.length)).toEqual([1, 1, 1, 0, 0, 0, 0]);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/parley_notify_unread_backlog_count\{[^}]*\} 7/);
    expect(metrics).toMatch(/parley_notify_unread_backlog_sum\{[^}]*\} 3/);
    expect(metrics).toMatch(/parley_notify_unread_backlog_bucket\{le="0"[^}]*\} 4/);
  });
});

describe('Kafka ingress and mentions', () => {
  it('accepts requests from notifications.requests and dead-letters invalid ones', async () => {
    h = await startNotify();
    const dead: { value: string; headers?: Record<string, string> }[] = [];
    await h.stream.consume({ group: 'test-dead', topics: ['notifications.requests.dead'] }, async (b) => {
      dead.push(...b);
    });
    const valid = JSON.stringify({ to: { users: ['k'] }, ...note, idempotencyKey: 'kafka-1' });
    await h.stream.send('notifications.requests', [
      { key: 'a', value: valid },
      { key: 'b', value: valid },
      { key: 'c', value: '{"to":{"users":["k"]},"title":""}' },
    ]);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(dead[0]?.headers?.error).toBe('title: must not be empty');
    const unread = await h.query<Unread>({ op: 'unread', user: 'k', limit: 10 });
    expect(unread.unread.map((n: Notification) => n.title)).toEqual([note.title]);
  });

  it('notifies mentioned members once per message, never the sender or a non-member', async () => {
    h = await startNotify();
    const [alice, bob, carol] = [h.listen('alice'), h.listen('bob'), h.listen('carol')];
    const record = {
      room: 'dm#alice,bob',
      seq: 7,
      msgId: 'm7',
      from: 'alice',
      name: 'Alice',
      body: 'hey @bob, @carol and @alice: mail me at x@bob.org',
      ts: 1,
      clientMsgId: 'c7',
    };
    const open = { ...record, room: 'lobby', seq: 8, body: '@carol look' };
    const value = JSON.stringify(record);
    await h.stream.send('chat.messages', [
      { key: record.room, value },
      { key: record.room, value },
    ]);
    await h.stream.send('chat.messages', [
      { key: 'lobby', value: JSON.stringify(open) },
      { key: 'x', value: 'nope' },
    ]);
    await eventually(() => expect(carol).toHaveLength(1));
    await eventually(() => expect(bob).toHaveLength(1));
    expect(bob[0]).toMatchObject({
      title: 'Alice mentioned you in dm#alice,bob',
      data: { room: record.room, seq: 7 },
    });
    expect(alice).toHaveLength(0);
    expect((await h.query<Unread>({ op: 'unread', user: 'bob', limit: 10 })).unread).toHaveLength(1);
    expect((await h.query<Unread>({ op: 'unread', user: 'alice', limit: 10 })).unread).toHaveLength(0);
  });

  it('publishes an ops.stats heartbeat', async () => {
    h = await startNotify({ NOTIFY_STATS_INTERVAL: '50ms' });
    const stats: Record<string, unknown>[] = [];
    h.bus.subscribe('ops.stats', (m) => stats.push(JSON.parse(m.string())));
    await h.post({ to: { users: ['a', 'b'] }, ...note });
    await eventually(() =>
      expect(stats.at(-1)).toMatchObject({ service: 'notify', accepted: 1, stored: 2, deliveredLive: 2 }),
    );
  });
});
