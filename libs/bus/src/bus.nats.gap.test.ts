import { describe, expect, it } from 'vitest';
import { SourceGapDetector } from './bus.nats.gap.ts';

/** CHAT_LOG seqs from `firstLog` on, one per CHAT seq given (CHAT_LOG is contiguous). */
const copied = (firstLog: number, chatSeqs: number[]) =>
  chatSeqs.map((chatSeq, i) => ({ logSeq: firstLog + i, chatSeq }));

describe('SourceGapDetector', () => {
  it('finds nothing while CHAT_LOG copied every CHAT seq', () => {
    const d = new SourceGapDetector(0);
    expect(d.observe(copied(1, [1, 2, 3]))).toBeUndefined();
    expect(d.observe(copied(4, [4, 5]))).toBeUndefined();
    expect(d.lost).toBe(0);
  });

  it('counts every CHAT seq missing between copied ones, in one batch and across batches', () => {
    const d = new SourceGapDetector(0);
    expect(d.observe(copied(1, [1, 2, 5, 6, 9]))).toEqual({ missing: 4, lost: 4, afterSeq: 2, beforeSeq: 9 });
    expect(d.observe(copied(6, [12]))).toEqual({ missing: 2, lost: 6, afterSeq: 9, beforeSeq: 12 });
    expect(d.lost).toBe(6);
  });

  it('counts messages lost before the first copied one from the base', () => {
    const d = new SourceGapDetector(100);
    expect(d.observe(copied(1, [104, 105]))).toEqual({ missing: 3, lost: 3, afterSeq: 0, beforeSeq: 104 });
  });

  it('counts a loss once however batches are redelivered', () => {
    const d = new SourceGapDetector(0);
    const batch = copied(1, [1, 4, 5]);
    expect(d.observe(batch)?.missing).toBe(2);
    expect(d.observe(batch)).toBeUndefined();
    expect(d.observe(copied(2, [4]))).toBeUndefined();
    expect(d.lost).toBe(2);
  });

  it('is exact for an instance that sees only some batches of a shared durable', () => {
    // CHAT_LOG: log 1..6 = chat 1, 2, 5 | 6, 8, 9. Instance A gets the first batch, B the second.
    const a = new SourceGapDetector(0);
    const b = new SourceGapDetector(0);
    expect(a.observe(copied(1, [1, 2, 5]))?.lost).toBe(2);
    expect(b.observe(copied(4, [6, 8, 9]))).toEqual({ missing: 3, lost: 3, afterSeq: 0, beforeSeq: 8 });
    // A's next batch: the total it reports is the same level B reports, not a sum.
    expect(a.observe(copied(7, [10]))).toEqual({ missing: 1, lost: 3, afterSeq: 5, beforeSeq: 10 });
  });

  it('without a base, measures from the first message seen', () => {
    const d = new SourceGapDetector();
    expect(d.observe(copied(50, [70, 71]))).toBeUndefined();
    expect(d.observe(copied(52, [75]))).toEqual({ missing: 3, lost: 3, afterSeq: 71, beforeSeq: 75 });
  });

  it('a source that copied some messages again (after a restart) does not hide a later loss', () => {
    const d = new SourceGapDetector(0);
    // CHAT 1..5 copied, then 4 and 5 copied again (log 6, 7), then 8 after 6 and 7 were lost.
    expect(d.observe(copied(1, [1, 2, 3, 4, 5, 4, 5]))).toBeUndefined();
    expect(d.observe(copied(8, [8]))).toEqual({ missing: 2, lost: 2, afterSeq: 5, beforeSeq: 8 });
  });
});
