/**
 * Group commit for inbox rows: rows from concurrent requests are written together, one insertMany
 * in flight at a time; whatever arrives meanwhile forms the next write. A caller's promise resolves
 * when the write holding its rows succeeded (or rejects with its error), so "stored before the 202"
 * still holds, while the store sees few large writes instead of one round trip per request.
 */
import type { Inbox, StoredNotification } from '@parley/store';

interface Waiting {
  rows: readonly StoredNotification[];
  resolve(): void;
  reject(e: unknown): void;
}

export class InboxBatcher {
  #queue: Waiting[] = [];
  #writing = false;

  constructor(
    private readonly inbox: Pick<Inbox, 'insertMany'>,
    /** Rows per write; a caller's rows are never split, so one write may exceed it by one caller. */
    private readonly maxRows: number,
  ) {}

  insert(rows: readonly StoredNotification[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#queue.push({ rows, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const batch: Waiting[] = [];
      let n = 0;
      while (this.#queue.length > 0 && (n === 0 || n + (this.#queue[0]?.rows.length ?? 0) <= this.maxRows)) {
        const w = this.#queue.shift() as Waiting;
        batch.push(w);
        n += w.rows.length;
      }
      try {
        await this.inbox.insertMany(batch.flatMap((w) => w.rows));
        for (const w of batch) w.resolve();
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.#writing = false;
  }
}
