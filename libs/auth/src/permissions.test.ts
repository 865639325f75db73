import { parseRoomId, type RoomId } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { canJoin, canPublish, hasScope, type Identity, matchPattern } from './index.ts';

function room(id: string): RoomId {
  const parsed = parseRoomId(id);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.room;
}

function identity(userId: string, rooms: string[], pub = rooms, scopes: string[] = []): Identity {
  return { userId, rooms, pub, scopes: new Set(scopes), exp: 0 };
}

describe('matchPattern', () => {
  const table: [string, string, boolean][] = [
    ['*', 'anything', true],
    ['*', 'a', true],
    ['lobby', 'lobby', true],
    ['lobby', 'lobby2', false],
    ['lobby', 'lobb', false],
    ['team-*', 'team-', true],
    ['team-*', 'team-red', true],
    ['team-*', 'teamred', false],
    ['*-ops', 'prod-ops', true],
    ['*-ops', 'prod-ops-x', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXXbYYbZZc', true],
    ['a*b*c', 'aXXbYYc-', false],
    ['room-?', 'room-1', true],
    ['room-?', 'room-', false],
    ['room-?', 'room-12', false],
    ['?*', '', false],
    ['**', '', true],
    ['a**', 'a', true],
    ['', '', true],
    ['', 'a', false],
    ['x', '', false],
    // Everything but '*' and '?' is literal: regex metacharacters carry no meaning.
    ['a.c', 'abc', false],
    ['a.c', 'a.c', true],
    ['a+', 'aa', false],
    ['[ab]', 'a', false],
  ];
  for (const [pattern, id, expected] of table) {
    it(`'${pattern}' ${expected ? 'matches' : 'does not match'} '${id}'`, () => {
      expect(matchPattern(pattern, id)).toBe(expected);
    });
  }

  it('stays fast on patterns built to backtrack', () => {
    const pattern = `${'*a'.repeat(50)}b`;
    const id = 'a'.repeat(5000);
    const start = performance.now();
    expect(matchPattern(pattern, id)).toBe(false);
    expect(performance.now() - start).toBeLessThan(200);
  });
});

describe('canJoin and canPublish', () => {
  it('allows ordinary rooms matching a pattern', () => {
    const id = identity('alice', ['lobby', 'team-*'], ['team-*']);
    expect(canJoin(id, room('lobby'))).toBe(true);
    expect(canJoin(id, room('team-red'))).toBe(true);
    expect(canJoin(id, room('other'))).toBe(false);
    expect(canPublish(id, room('team-red'))).toBe(true);
    expect(canPublish(id, room('lobby'))).toBe(false);
  });

  it('allows nothing with no patterns', () => {
    const id = identity('alice', []);
    expect(canJoin(id, room('lobby'))).toBe(false);
    expect(canPublish(id, room('lobby'))).toBe(false);
  });

  it('lets a member into a user-limited room whatever the patterns say', () => {
    const id = identity('alice', [], []);
    expect(canJoin(id, room('dm#alice,bob'))).toBe(true);
    expect(canPublish(id, room('dm#alice,bob'))).toBe(true);
  });

  it('keeps a non-member out of a user-limited room even with patterns that match it', () => {
    const id = identity('carol', ['*'], ['*']);
    expect(canJoin(id, room('dm#alice,bob'))).toBe(false);
    expect(canPublish(id, room('dm#alice,bob'))).toBe(false);
    expect(canJoin(identity('carol', ['dm#alice,bob']), room('dm#alice,bob'))).toBe(false);
  });

  it('compares member ids exactly', () => {
    expect(canJoin(identity('ali', ['*']), room('dm#alice,bob'))).toBe(false);
    expect(canJoin(identity('Alice', ['*']), room('dm#alice,bob'))).toBe(false);
  });
});

describe('hasScope', () => {
  it('checks scopes literally', () => {
    const admin = identity('root', [], [], ['admin']);
    expect(hasScope(admin, 'admin')).toBe(true);
    expect(hasScope(admin, 'notify:send')).toBe(false);
    expect(hasScope(identity('a', [], [], ['notify:send']), 'notify:send')).toBe(true);
  });
});
