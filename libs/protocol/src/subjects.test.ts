import { expect, it } from 'vitest';
import { chatFrame, toChatMessage } from './chat.ts';
import { canonicalRoomId, excludedFrom, parseRoomId } from './rooms.ts';
import { fromSubjectToken, Subjects, subjectToken } from './subjects.ts';

it('encodes ids that are not subject-safe, reversibly, and leaves plain ids readable', () => {
  expect(subjectToken('lobby-1')).toBe('lobby-1');
  for (const id of ['dm#a.b@x,c d', 'ünï', '*', '>', 'a.b', '~x']) {
    const t = subjectToken(id);
    expect(t).toMatch(/^~[0-9a-f]+$/);
    expect(fromSubjectToken(t)).toBe(id);
  }
  expect(Subjects.chatIn('a.b')).toBe(`chat.in.${subjectToken('a.b')}`);
});

it('canonicalises user-limited rooms and checks membership', () => {
  expect(canonicalRoomId('dm', ['bob', 'alice', 'bob'])).toBe('dm#alice,bob');
  const r = parseRoomId('dm#alice,bob');
  expect(r.ok && excludedFrom(r.room, 'carol')).toBe(true);
  expect(r.ok && excludedFrom(r.room, 'bob')).toBe(false);
});

it('splices seq and prev into the stored payload without re-serialising it', () => {
  const m = {
    room: 'lobby',
    seq: 9,
    prev: 4,
    data: '{"msgId":"m","from":"a","body":"hi","ts":1,"clientMsgId":"c"}',
  };
  const frame = JSON.parse(chatFrame(m));
  expect(frame).toEqual({
    type: 'message',
    room: 'lobby',
    seq: 9,
    prev: 4,
    msgId: 'm',
    from: 'a',
    body: 'hi',
    ts: 1,
    clientMsgId: 'c',
  });
  expect(toChatMessage(m)).toMatchObject({ room: 'lobby', seq: 9, prev: 4, body: 'hi' });
});
