import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord } from './record.ts';

const payload = { msgId: 'm1', from: 'alice', name: 'Alice', body: { k: 1 }, ts: 5, clientMsgId: 'c1' };

describe('chat.messages record', () => {
  it('round-trips a stored chat message, key = room', () => {
    const out = encodeRecord({ room: 'dm#a,b', seq: 7, data: JSON.stringify(payload) });
    expect(out.key).toBe('dm#a,b');
    expect(decodeRecord(out.key, out.value, 32)).toEqual({
      ok: true,
      msg: { room: 'dm#a,b', seq: 7, ...payload },
    });
  });

  it.each([
    ['not json', 'value: not JSON'],
    ['[1]', 'value: not an object'],
    ['{"room":"bad room","seq":1}', 'room: bad room id'],
    ['{"room":"other","seq":1}', 'key: differs from room'],
    ['{"room":"r","seq":0}', 'seq: must be a positive integer'],
    ['{"room":"r","seq":1,"msgId":"m","from":"a","body":[1],"ts":1,"clientMsgId":"c"}', 'body: must be'],
    ['{"room":"r","seq":1,"msgId":"m","from":"a","body":"x","ts":"1","clientMsgId":"c"}', 'ts: must be'],
  ])('refuses %s naming the field', (value, problem) => {
    const d = decodeRecord('r', value, 32);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.problem).toContain(problem);
  });

  it('turns a payload that is not an object into a value the writer refuses', () => {
    const out = encodeRecord({ room: 'r', seq: 1, data: 'garbage' });
    expect(decodeRecord(out.key, out.value, 32).ok).toBe(false);
  });
});
