import type { Bus } from '@parley/bus';
import { Subjects } from '@parley/protocol';
import { eventually } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import { appendChat, startMemoryHistory } from './testing.ts';

async function ask(
  bus: Bus,
  req: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: replies of every op, checked field by field below
): Promise<{ ok: boolean; result?: any; code?: string; message?: string }> {
  const text = typeof req === 'string' ? req : JSON.stringify(req);
  return JSON.parse((await bus.request(Subjects.historyQuery, text, { timeoutMs: 1000 })).string());
}

/** 30 messages in room `r` (seqs 1..30) and 2 in dm#alice,bob, all written. */
async function seeded() {
  const h = await startMemoryHistory();
  for (let i = 1; i <= 30; i++) await appendChat(h.bus, 'r', i);
  await appendChat(h.bus, 'dm#alice,bob', 31, 'bob');
  await appendChat(h.bus, 'dm#alice,bob', 32, 'bob');
  await eventually(async () => expect(await h.stores.messages.lastSeq('dm#alice,bob')).toBe(32));
  return h;
}

describe('history.query', () => {
  it('answers page, after and last', async () => {
    await using h = await seeded();
    const page = await ask(h.bus, { op: 'page', room: 'r', before: 11, limit: 5 });
    expect(page.ok).toBe(true);
    expect(page.result.messages.map((m: { seq: number }) => m.seq)).toEqual([6, 7, 8, 9, 10]);
    expect(page.result.messages[0]).toMatchObject({ room: 'r', prev: 5, from: 'alice', body: 'hello 6' });
    expect(page.result.more).toBe(true);
    const first = await ask(h.bus, { op: 'page', room: 'r', before: 3, limit: 5 });
    expect(first.result.more).toBe(false);
    const after = await ask(h.bus, { op: 'after', room: 'r', after: 27, limit: 10 });
    expect(after.result.messages.map((m: { seq: number }) => m.seq)).toEqual([28, 29, 30]);
    expect(after.result.more).toBe(false);
    expect((await ask(h.bus, { op: 'last', room: 'r' })).result).toEqual({ seq: 30 });
    expect((await ask(h.bus, { op: 'last', room: 'empty' })).result).toEqual({ seq: 0 });
  });

  it('keeps read markers monotonic and counts unread after them', async () => {
    await using h = await seeded();
    expect((await ask(h.bus, { op: 'read', user: 'alice', room: 'r', seq: 20 })).result).toEqual({ seq: 20 });
    expect((await ask(h.bus, { op: 'read', user: 'alice', room: 'r', seq: 10 })).result).toEqual({ seq: 20 });
    const rooms = ['r', 'dm#alice,bob', ...Array.from({ length: 98 }, (_, i) => `x${i}`)];
    const unread = await ask(h.bus, { op: 'unread', user: 'alice', rooms });
    expect(unread.result.counts).toMatchObject({ r: 10, 'dm#alice,bob': 2, x0: 0 });
    expect(Object.keys(unread.result.counts)).toHaveLength(100);
  });

  it('lists conversations most recent first with unread counts', async () => {
    await using h = await seeded();
    await ask(h.bus, { op: 'read', user: 'alice', room: 'dm#alice,bob', seq: 31 });
    const c = await ask(h.bus, { op: 'conversations', user: 'alice', limit: 10 });
    expect(c.ok).toBe(true);
    expect(c.result.items.map((i: { room: string }) => i.room)).toEqual(['dm#alice,bob', 'r']);
    expect(c.result.items[0]).toMatchObject({ lastSeq: 32, unread: 1, lastMessage: { seq: 32, prev: 31 } });
  });

  it.each([
    ['not json', 'request: not JSON'],
    [{ op: 'drop' }, 'op: must be one of'],
    [{ op: 'page', room: 'bad room', limit: 5 }, 'room: bad room id'],
    [{ op: 'page', room: 'dm#bob,alice', limit: 5 }, 'room: bad room id: member list must be sorted'],
    [{ op: 'page', room: 'r', limit: -1 }, 'limit: must be an integer between 1 and 1000'],
    [{ op: 'page', room: 'r', limit: 1e9 }, 'limit: must be an integer'],
    [{ op: 'page', room: 'r', limit: '5' }, 'limit: must be an integer'],
    [{ op: 'page', room: 'r', before: 'x', limit: 5 }, 'before: must be an integer'],
    [{ op: 'after', room: 'r', after: -1, limit: 5 }, 'after: must be an integer'],
    [{ op: 'read', user: '', room: 'r', seq: 1 }, 'user: must be a string'],
    [{ op: 'read', user: 'a', room: 'r', seq: 1.5 }, 'seq: must be an integer'],
    [{ op: 'unread', user: 'a', rooms: 'r' }, 'rooms: must be an array'],
    [{ op: 'unread', user: 'a', rooms: ['ok', 'no way'] }, 'rooms[1]: bad room id'],
    [{ op: 'conversations', user: 'a', limit: 0 }, 'limit: must be an integer'],
  ])('refuses %j with bad_request naming the field', async (req, message) => {
    await using h = await startMemoryHistory();
    const r = await ask(h.bus, req);
    expect(r).toMatchObject({ ok: false, code: 'bad_request' });
    expect(r.message).toContain(message);
  });

  it('answers a store failure with unavailable or internal, never a crash', async () => {
    await using h = await startMemoryHistory({}, (s) => ({
      ...s,
      messages: {
        page: () => Promise.reject(new Error('boom')),
        after: (...a) => s.messages.after(...a),
        lastSeq: (room) => s.messages.lastSeq(room),
        countAfter: (...a) => s.messages.countAfter(...a),
      },
    }));
    const r = await ask(h.bus, { op: 'page', room: 'r', limit: 5 });
    expect(r).toMatchObject({ ok: false, code: 'internal' });
    expect((await ask(h.bus, { op: 'last', room: 'r' })).ok).toBe(true);
  });
});
