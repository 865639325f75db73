import type { StoredMsg, StreamInfo } from '@nats-io/jetstream';
import { Subjects } from '@parley/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsChatLog } from './bus.nats.chat.ts';
import type { NatsDeps } from './bus.nats.util.ts';
import { isBusError } from './bus.ts';

/**
 * Stream CHAT as direct get sees it, for one room with a per-room window: `onRead` runs after each
 * direct get, so a test can append (and so evict) between the gets of one readAfter.
 */
class FakeStream {
  readonly msgs = new Map<number, string>();
  private last = 0;
  onRead: (() => void) | undefined;

  constructor(
    private readonly room: string,
    private readonly window: number,
  ) {}

  append(n: number): void {
    const subject = Subjects.chatIn(this.room);
    for (let i = 0; i < n; i++) {
      this.msgs.set(++this.last, subject);
      const held = [...this.msgs.keys()];
      if (held.length > this.window) this.msgs.delete(Math.min(...held));
    }
  }

  getMessage(_stream: string, q: { seq: number; next_by_subj?: string }): Promise<StoredMsg | null> {
    const seq = q.next_by_subj
      ? [...this.msgs.keys()]
          .filter((s) => s >= q.seq && this.msgs.get(s) === q.next_by_subj)
          .sort((a, b) => a - b)[0]
      : this.msgs.has(q.seq)
        ? q.seq
        : undefined;
    const subject = seq === undefined ? undefined : this.msgs.get(seq);
    const found =
      seq === undefined || subject === undefined
        ? null
        : ({ seq, subject, string: () => `{"n":${seq}}` } as unknown as StoredMsg);
    this.onRead?.();
    return Promise.resolve(found);
  }
}

const logs: NatsChatLog[] = [];
afterEach(() => {
  for (const l of logs.splice(0)) l.close();
});

function chatLog(stream: FakeStream): NatsChatLog {
  const d = {
    nc: { subscribe: () => ({ unsubscribe: () => {} }), isClosed: () => false },
    jsm: { direct: { getMessage: stream.getMessage.bind(stream) } },
    directBatch: false,
    maxUncopied: 2,
    appendTimeoutMs: 1000,
    log: () => {},
  } as unknown as NatsDeps;
  const info = { created: '2025-01-01T00:00:00.000000000Z', state: { last_seq: 0 } };
  const log = new NatsChatLog(d, info as StreamInfo);
  logs.push(log);
  return log;
}

describe('NatsChatLog.readAfter on a window that moves during the read', () => {
  it('re-reads instead of returning a hole when the part read lost messages meanwhile', async () => {
    const stream = new FakeStream('r', 5);
    stream.append(10); // holds 6..10; the cursor 2 is gone
    let reads = 0;
    // After the first get (seq 6) two appends evict 6 and 7: the next get from 7 lands on 8.
    stream.onRead = () => {
      if (++reads === 1) stream.append(2);
    };
    const w = await chatLog(stream).readAfter('r', 2, 10);
    expect(w.covered).toBe(false);
    const seqs = w.messages.map((m) => m.seq);
    expect(seqs).toEqual([8, 9, 10, 11, 12]);
    expect(w.messages.map((m) => m.prev)).toEqual([2, 8, 9, 10, 11]);
  });

  it('gives up with unavailable when the window keeps moving', async () => {
    const stream = new FakeStream('r', 5);
    stream.append(10);
    let reads = 0;
    stream.onRead = () => {
      if (++reads % 3 === 1) stream.append(2);
    };
    const read = chatLog(stream).readAfter('r', 2, 10);
    await expect(read).rejects.toSatisfy((e) => isBusError(e, 'unavailable'));
  });

  it('returns a covered read as it is (the cursor is still held)', async () => {
    const stream = new FakeStream('r', 5);
    stream.append(10);
    const w = await chatLog(stream).readAfter('r', 7, 10);
    expect(w).toMatchObject({ covered: true });
    expect(w.messages.map((m) => m.seq)).toEqual([8, 9, 10]);
  });
});
