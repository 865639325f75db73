import { errors } from '@nats-io/nats-core';
import { Subjects } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { roomOfSubject } from './bus.nats.consume.ts';
import { ackStreamSeq, sourcedSeq, toBusError, withTimeout } from './bus.nats.util.ts';
import { isBusError } from './bus.ts';

describe('ackStreamSeq', () => {
  it('reads the stream seq from both ack subject forms', () => {
    expect(ackStreamSeq('$JS.ACK.CHAT.d.1.42.7.1795299810693952458.4')).toBe(42);
    expect(ackStreamSeq('$JS.ACK.dom.hash.CHAT.d.1.42.7.1795299810693952458.4.rnd')).toBe(42);
  });
  it('returns 0 for anything else', () => {
    expect(ackStreamSeq(undefined)).toBe(0);
    expect(ackStreamSeq('_INBOX.x.y')).toBe(0);
    expect(ackStreamSeq('$JS.ACK.CHAT.d.1.x.7.1.4')).toBe(0);
    expect(ackStreamSeq('$JS.ACK.CHAT.d.1')).toBe(0);
  });
});

describe('toBusError', () => {
  it('maps nats.js failures to BusError kinds', () => {
    const noResp = new errors.RequestError('no responders', { cause: new errors.NoRespondersError('s') });
    expect(isBusError(toBusError(noResp, 'req'), 'no_responders')).toBe(true);
    expect(isBusError(toBusError(new errors.TimeoutError(), 'req'), 'timeout')).toBe(true);
    expect(isBusError(toBusError(new errors.ClosedConnectionError(), 'req'), 'closed')).toBe(true);
    const other = toBusError(new Error('boom'), 'req');
    expect(other.kind).toBe('unavailable');
    expect(other.message).toBe('req: boom');
  });
});

describe('withTimeout', () => {
  it('rejects with the given kind when the promise is late, and passes a prompt result through', async () => {
    const late = withTimeout(new Promise(() => {}), 10, 'unavailable', 'ping');
    await expect(late).rejects.toSatisfy((e) => isBusError(e, 'unavailable'));
    expect(await withTimeout(Promise.resolve(7), 1_000, 'timeout', 'x')).toBe(7);
  });
});

describe('roomOfSubject', () => {
  it('inverts Subjects.chatIn for plain and encoded room ids', () => {
    for (const room of ['general', 'dm#a.b@x,c d', 'ü>*'])
      expect(roomOfSubject(Subjects.chatIn(room))).toBe(room);
  });
});

describe('sourcedSeq', () => {
  it('reads the origin seq of a sourced message (2.10+ and older forms, cross-domain name)', () => {
    expect(sourcedSeq('CHAT 42 > >', 'CHAT')).toBe(42);
    expect(sourcedSeq('CHAT 42', 'CHAT')).toBe(42);
    expect(sourcedSeq('CHAT:a1b2 7 chat.in.> chat.in.>', 'CHAT')).toBe(7);
  });
  it('returns 0 for another origin or a malformed header', () => {
    expect(sourcedSeq(undefined, 'CHAT')).toBe(0);
    expect(sourcedSeq('OTHER 42 > >', 'CHAT')).toBe(0);
    expect(sourcedSeq('CHATX 42 > >', 'CHAT')).toBe(0);
    expect(sourcedSeq('CHAT x > >', 'CHAT')).toBe(0);
    expect(sourcedSeq('CHAT 0 > >', 'CHAT')).toBe(0);
  });
});
