import type { JetStreamManager, StoredMsg, StreamInfo } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ChatLogPosition } from './bus.nats.copied.ts';

/** Streams CHAT and CHAT_LOG as the position reads them: CHAT_LOG's newest message, both states. */
function fakeServer(s: {
  chatLast: number;
  logLast: number;
  newest?: [logSeq: number, chatSeq: number];
  base?: number;
}) {
  const info = (name: string) =>
    Promise.resolve(
      (name === 'CHAT'
        ? { state: { last_seq: s.chatLast, messages: 5 } }
        : {
            state: { last_seq: s.logLast, messages: s.newest ? 1 : 0 },
            sources: [{ name: 'CHAT', lag: 0 }],
            config: { metadata: s.base === undefined ? {} : { 'parley.chat_base': String(s.base) } },
          }) as unknown as StreamInfo,
    );
  const getMessage = () => {
    const n = s.newest;
    if (!n) return Promise.resolve(null);
    const header = { get: (h: string) => (h === 'Nats-Stream-Source' ? `CHAT ${n[1]} > >` : '') };
    return Promise.resolve({ seq: n[0], header } as unknown as StoredMsg);
  };
  return { s, jsm: { streams: { info, getMessage } } as unknown as JetStreamManager };
}

describe('ChatLogPosition', () => {
  it("reads the CHAT seq of CHAT_LOG's newest message", async () => {
    const { jsm } = fakeServer({ chatLast: 120, logLast: 100, newest: [100, 117], base: 0 });
    expect(await new ChatLogPosition(jsm).copied()).toBe(117);
  });

  it('when the durables emptied CHAT_LOG: its last seq plus the offset last seen, else its base', async () => {
    const { s, jsm } = fakeServer({ chatLast: 120, logLast: 100, newest: [100, 117], base: 3 });
    const position = new ChatLogPosition(jsm);
    s.newest = undefined;
    expect(await position.copied()).toBe(103);
    s.newest = [100, 117];
    await position.copied();
    s.newest = undefined;
    s.logLast = 110;
    expect(await position.copied()).toBe(127);
  });

  it('resync: an empty, idle CHAT_LOG has copied all of CHAT (a stale offset no longer holds appends back)', async () => {
    // 30 messages were lost since the base: last seq + base says 100, CHAT_LOG really copied up to 130.
    const { s, jsm } = fakeServer({ chatLast: 130, logLast: 100, base: 0 });
    const position = new ChatLogPosition(jsm);
    expect(await position.copied()).toBe(100);
    expect(await position.resync()).toBe(130);
    expect(await position.copied()).toBe(130);
    // Not idle (CHAT moves between the two samples): no resync, the plain reading.
    s.chatLast = 131;
    const moving = position.resync();
    s.chatLast = 135;
    expect(await moving).toBe(130);
  });
});
