/**
 * How far stream CHAT_LOG has copied stream CHAT, read for CopyGuard (bus.nats.guard.ts). Only
 * read while appends wait, so it costs nothing in steady state.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { STREAM_CHAT, Subjects } from '@parley/protocol';
import { chatLogBase } from './bus.nats.gap.ts';
import type { CopyProbe } from './bus.nats.guard.ts';
import { STREAM_CHAT_LOG, sourcedSeq } from './bus.nats.util.ts';

/** How long CHAT and CHAT_LOG must stand still before an empty CHAT_LOG is taken as caught up. */
const IDLE_MS = 100;

export class ChatLogPosition implements CopyProbe {
  /** CHAT seq - CHAT_LOG seq of the copied messages: it grows only by messages never copied. */
  private offset: number | undefined;

  constructor(private readonly jsm: JetStreamManager) {}

  /** A new CHAT_LOG (CHAT was recreated): its offset is learned again. */
  reset(): void {
    this.offset = undefined;
  }

  /**
   * The CHAT seq of CHAT_LOG's newest message (exact). When the durables have acked everything,
   * CHAT_LOG is empty: its last seq plus the last offset seen (or its base) is then a lower bound,
   * exact unless messages were lost since that offset was seen.
   */
  async copied(): Promise<number> {
    const m = await this.jsm.streams.getMessage(STREAM_CHAT_LOG, { last_by_subj: Subjects.chatInAll });
    const seq = m ? sourcedSeq(m.header.get('Nats-Stream-Source'), STREAM_CHAT) : 0;
    if (m && seq > 0) {
      this.offset = seq - m.seq;
      return seq;
    }
    const log = await this.jsm.streams.info(STREAM_CHAT_LOG);
    this.offset ??= chatLogBase(log);
    return this.offset === undefined ? 0 : log.state.last_seq + this.offset;
  }

  /**
   * For an offset that is unknown (CHAT_LOG from an older driver) or stale (messages were lost
   * since it was seen, so `copied` undercounts and appends would wait for ever on an empty
   * CHAT_LOG): if CHAT_LOG is empty, its source reports no lag, and neither stream moved for
   * IDLE_MS, the copy has caught up with CHAT's last message.
   */
  async resync(): Promise<number | undefined> {
    const sample = async () => {
      const [chat, log] = await Promise.all([
        this.jsm.streams.info(STREAM_CHAT),
        this.jsm.streams.info(STREAM_CHAT_LOG),
      ]);
      const idle = log.state.messages === 0 && log.sources?.[0]?.lag === 0;
      return { idle, chat: chat.state.last_seq, log: log.state.last_seq };
    };
    const a = await sample();
    if (!a.idle) return this.copied();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const b = await sample();
    if (!b.idle || a.chat !== b.chat || a.log !== b.log) return this.copied();
    this.offset = b.chat - b.log;
    return b.chat;
  }
}
