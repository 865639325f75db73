import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../test/openapi.ts';
import { parseNotifyInput, parseNotifyJson } from './request.ts';

const ok = { to: { users: ['alice', 'bob', 'alice'] }, title: 'Hi', body: 'there' };
const problem = (v: unknown) => {
  const r = parseNotifyInput(v, 100);
  return r.ok ? 'ok' : r.error;
};

describe('parseNotifyInput', () => {
  it('accepts every target and optional field, deduplicating users', () => {
    const full = { ...ok, data: { a: [1] }, ttlSeconds: 60, idempotencyKey: 'k' };
    const r = parseNotifyInput(full, 100);
    expect(r).toEqual({ ok: true, input: { ...full, to: { users: ['alice', 'bob'] } } });
    expect(problem({ ...ok, to: { room: 'lobby' } })).toBe('ok');
    expect(problem({ ...ok, to: { room: 'dm#alice,bob' } })).toBe('ok');
    expect(problem({ ...ok, to: { all: true } })).toBe('ok');
    expect(problem({ ...ok, body: '' })).toBe('ok');
  });

  it('names the field at fault', () => {
    const cases: [unknown, string][] = [
      [[], 'request: must be a JSON object'],
      [{ ...ok, extra: 1 }, 'extra: unknown field'],
      [{ title: 't', body: 'b' }, 'to: is required'],
      [{ ...ok, to: 'alice' }, 'to: must be an object with one of users, room, all'],
      [{ ...ok, to: {} }, 'to: must have exactly one of users, room, all'],
      [{ ...ok, to: { users: ['a'], all: true } }, 'to: must have exactly one of users, room, all'],
      [{ ...ok, to: { group: 'x' } }, 'to.group: unknown field'],
      [{ ...ok, to: { all: 'yes' } }, 'to.all: must be true'],
      [{ ...ok, to: { users: [] } }, 'to.users: must not be empty'],
      [{ ...ok, to: { users: 'alice' } }, 'to.users: must be an array of user ids'],
      [{ ...ok, to: { users: ['a', 7] } }, 'to.users[1]: must be a string'],
      [{ ...ok, to: { users: ['a', ''] } }, 'to.users[1]: must not be empty'],
      [{ ...ok, to: { room: 'bad room' } }, expect.stringMatching(/^to\.room: bad room id/)],
      [{ ...ok, to: { room: 'dm#bob,alice' } }, expect.stringMatching(/^to\.room: .*sorted/)],
      [{ ...ok, title: '' }, 'title: must not be empty'],
      [{ ...ok, title: 5 }, 'title: must be a string'],
      [{ ...ok, title: undefined }, 'title: is required'],
      [{ ...ok, title: 'x'.repeat(201) }, 'title: must be at most 200 characters'],
      [{ ...ok, body: { rich: true } }, 'body: must be a string'],
      [{ ...ok, ttlSeconds: 1.5 }, 'ttlSeconds: must be an integer from 1 to 31536000'],
      [{ ...ok, ttlSeconds: '60' }, 'ttlSeconds: must be an integer from 1 to 31536000'],
      [{ ...ok, idempotencyKey: '' }, 'idempotencyKey: must not be empty'],
    ];
    for (const [input, error] of cases) expect(problem(input), JSON.stringify(input)).toEqual(error);
  });

  it('bounds the number of listed users', () => {
    const users = Array.from({ length: 3 }, (_, i) => `u${i}`);
    expect(parseNotifyInput({ ...ok, to: { users } }, 2)).toEqual({
      ok: false,
      error: 'to.users: must hold at most 2 user ids',
    });
  });

  it('reports invalid JSON against the request', () => {
    expect(parseNotifyJson('{"to":', 10)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^request: invalid JSON/),
    });
  });

  it('agrees with openapi.yaml on what a valid request is', () => {
    const valid = [
      ok,
      { ...ok, to: { room: 'dm#a,b' }, data: null, ttlSeconds: 1 },
      { ...ok, to: { all: true } },
    ];
    const invalid = [
      { ...ok, extra: 1 },
      { ...ok, title: '' },
      { ...ok, to: { users: [] } },
      { ...ok, to: { all: false } },
      { ...ok, to: { room: 'a b' } },
      { ...ok, ttlSeconds: 0 },
      { ...ok, body: 1 },
    ];
    for (const v of valid) {
      expect(problem(v)).toBe('ok');
      expect(schemaErrors('NotificationRequest', v)).toEqual([]);
    }
    for (const v of invalid) {
      expect(problem(v)).not.toBe('ok');
      expect(schemaErrors('NotificationRequest', v), JSON.stringify(v)).not.toEqual([]);
      expect(schemaErrors('Error', { error: problem(v) })).toEqual([]);
    }
  });
});
