import { describe, expect, it } from 'vitest';
import { CLIENT_FRAME_TYPES, decodeClientFrame, utf8Length, validateName } from './decode.ts';

const ok = (frame: unknown) => {
  const r = decodeClientFrame(JSON.stringify(frame));
  if (!r.ok) throw new Error(`expected ok for ${JSON.stringify(frame)}: ${r.message}`);
  return r.frame;
};
const bad = (frame: unknown) => {
  const r = decodeClientFrame(typeof frame === 'string' ? frame : JSON.stringify(frame));
  if (r.ok) throw new Error(`expected an error for ${JSON.stringify(frame)}`);
  return r;
};

describe('decodeClientFrame', () => {
  it('accepts a valid frame of every type', () => {
    const valid = [
      { type: 'join', room: 'lobby', since: 4, epoch: 'e1', id: 1 },
      { type: 'leave', room: 'lobby' },
      { type: 'publish', room: 'dm#alice,bob', body: 'hi', clientMsgId: 'c1' },
      { type: 'publish', room: 'lobby', body: { kind: 'card' }, clientMsgId: 'c2' },
      { type: 'typing', room: 'lobby', on: true },
      { type: 'history', room: 'lobby', before: 10, limit: 50 },
      { type: 'presence', room: 'lobby' },
      { type: 'status', status: 'away' },
      { type: 'ping', id: 'p' },
      { type: 'refresh', token: 'a.b.c' },
      { type: 'notifications.read', ids: ['n1'] },
      { type: 'read', room: 'lobby', seq: 3 },
      { type: 'unread', rooms: ['lobby', 'dm#a,b'] },
      { type: 'profile', name: 'Zoë 🌱' },
      { type: 'conversations', limit: 10 },
      { type: 'watch', users: ['alice'] },
    ];
    expect(new Set(valid.map((f) => f.type))).toEqual(new Set(CLIENT_FRAME_TYPES));
    for (const f of valid) expect(ok(f).type).toBe(f.type);
  });

  it('names the problem and echoes the id', () => {
    expect(bad('{')).toMatchObject({ code: 'bad_request', message: 'frame is not valid JSON' });
    expect(bad('[1]')).toMatchObject({ code: 'bad_request', message: 'frame must be a JSON object' });
    expect(bad({ type: 'nope', id: 7 })).toMatchObject({ code: 'bad_request', id: 7 });
    expect(bad({ type: 'join', id: 'x' })).toMatchObject({ message: 'join: room must be a string', id: 'x' });
    expect(bad({ type: 'join', room: 'a', since: -1 }).message).toContain('since');
    expect(bad({ type: 'history', room: 'a', limit: 1000 }).message).toContain('limit');
    expect(bad({ type: 'status', status: 'busy' }).message).toContain('status must be one of');
    expect(bad({ type: 'watch', users: 'alice' }).message).toContain('users must be an array');
    expect(bad({ type: 'unread', rooms: ['ok', 'b a d'] }).message).toContain('rooms[1]');
    expect(bad({ type: 'ping', id: { no: 1 } }).message).toContain('id must be');
    expect(bad({ type: 'constructor' }).message).toContain('unknown frame type');
  });

  it('rejects oversize bodies with too_large, empty ones with bad_request', () => {
    expect(bad({ type: 'publish', room: 'a', clientMsgId: 'c', body: 'x'.repeat(4001) }).code).toBe(
      'too_large',
    );
    expect(bad({ type: 'publish', room: 'a', clientMsgId: 'c', body: { big: 'x'.repeat(17000) } }).code).toBe(
      'too_large',
    );
    expect(bad({ type: 'publish', room: 'a', clientMsgId: 'c', body: '' }).code).toBe('bad_request');
    expect(bad({ type: 'publish', room: 'a', clientMsgId: 'c', body: [1] }).code).toBe('bad_request');
    expect(ok({ type: 'publish', room: 'a', clientMsgId: 'c', body: 'x'.repeat(4000) }).type).toBe('publish');
  });

  it('validates room ids, including user-limited ones', () => {
    expect(bad({ type: 'join', room: 'dm#bob,alice' }).message).toContain('"dm#alice,bob"');
    expect(bad({ type: 'join', room: 'dm#alice,alice' }).message).toContain('"dm#alice"');
    expect(
      bad({
        type: 'join',
        room: `r#${Array.from({ length: 33 }, (_, i) => `u${i}`)
          .sort()
          .join(',')}`,
      }).message,
    ).toContain('at most 32');
    expect(bad({ type: 'join', room: 'x'.repeat(129) }).code).toBe('bad_request');
  });
});

describe('validateName and utf8Length', () => {
  it('accepts printable names and refuses control characters or blanks', () => {
    expect(validateName('Ann')).toBeUndefined();
    expect(validateName('a\u0007b')).toContain('control');
    expect(validateName('   ')).toContain('blank');
    expect(validateName('x'.repeat(65))).toContain('1-64');
    expect(validateName(3)).toContain('string');
  });
  it('counts UTF-8 bytes', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
  });
});
