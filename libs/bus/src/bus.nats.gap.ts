/**
 * Finds messages stream CHAT evicted before stream CHAT_LOG copied them (see ensureChatLogStream).
 *
 * Both streams number their messages contiguously, and sourcing copies CHAT in order, so for a
 * message at CHAT_LOG seq L copied from CHAT seq S the offset S - L only ever grows, and by exactly
 * the number of CHAT messages that were never copied before it. So any one message tells how many
 * were lost in CHAT_LOG before it, compared with the offset CHAT_LOG started with (its base,
 * recorded when it was created): no need to see the messages next to it. That is what makes this
 * exact with several bridge instances sharing one durable (each sees only some batches) and with
 * redeliveries (an older message has an offset no larger than a newer one). Every instance reports
 * the same total for the same message, so the total is a level (take the max over instances), not
 * a sum. One exception lowers the offset: a source that resumes by time after a server restart
 * (nats-server does so when CHAT_LOG is empty) may copy a few messages twice; a single instance
 * still counts a later loss exactly, several may each undercount it by those copies.
 *
 * Besides eviction by the window, the count includes any other CHAT message CHAT_LOG never got
 * (expired by CHAT's max_age before the copy, or dropped by CHAT_LOG's 100 ms duplicate window):
 * each is missing from history all the same.
 */
import type { StreamInfo } from '@nats-io/jetstream';
import type { SourceGap } from './bus.ts';

/** CHAT_LOG metadata: the CHAT seq before the first one CHAT_LOG was created to copy (its base). */
export const BASE_KEY = 'parley.chat_base';

/** CHAT_LOG's base; undefined when not recorded (created by an older driver). */
export function chatLogBase(si: StreamInfo): number | undefined {
  const base = Number(si.config.metadata?.[BASE_KEY] ?? Number.NaN);
  return Number.isSafeInteger(base) && base >= 0 ? base : undefined;
}

export class SourceGapDetector {
  /** The offset of the newest message seen (by CHAT_LOG seq); the base before any. */
  private offset: number | undefined;
  private total = 0;
  private lastLog = 0;
  private lastChat = 0;

  /**
   * `base`: the CHAT seq right before the first one CHAT_LOG was to copy (the offset of CHAT_LOG seq
   * 0). Unknown for a CHAT_LOG created by an older driver: the first message seen then sets it, and
   * losses before that message are not seen.
   */
  constructor(base?: number) {
    this.offset = base;
  }

  /** Messages found missing so far (since the base). */
  get lost(): number {
    return this.total;
  }

  /**
   * One batch in delivery order: each message's CHAT_LOG seq and CHAT seq. Only messages newer than
   * any seen before count (a redelivery says nothing new). The offset is followed down as well as
   * up: a source that resumes by time after a server restart may copy a few messages again, which
   * lowers it, and a later loss is then measured from there rather than hidden.
   */
  observe(batch: readonly { logSeq: number; chatSeq: number }[]): SourceGap | undefined {
    let missing = 0;
    let afterSeq = 0;
    let beforeSeq = 0;
    for (const { logSeq, chatSeq } of batch) {
      if (logSeq <= this.lastLog) continue;
      const offset = chatSeq - logSeq;
      this.offset ??= offset;
      if (offset > this.offset) {
        if (missing === 0) afterSeq = this.lastChat;
        missing += offset - this.offset;
        beforeSeq = chatSeq;
      }
      this.offset = offset;
      this.lastLog = logSeq;
      this.lastChat = chatSeq;
    }
    if (missing === 0) return undefined;
    this.total += missing;
    return { missing, lost: this.total, afterSeq, beforeSeq };
  }
}
