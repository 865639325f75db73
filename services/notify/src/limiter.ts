/**
 * At most `max` tasks in flight; the rest wait in arrival order. A waiting task whose deadline has
 * passed when its turn comes is refused with `DeadlineError` without running: nobody is waiting for
 * its answer any more, and running it would only delay the tasks behind it.
 */
export class DeadlineError extends Error {
  constructor() {
    super('deadline passed while queued; the caller has given up');
  }
}

interface Waiting {
  start(): void;
  refuse(e: Error): void;
  deadline: number;
}

export class Limiter {
  #active = 0;
  // A queue with a head index: Array#shift is O(n), and a connect storm queues thousands.
  #queue: Waiting[] = [];
  #head = 0;

  constructor(private readonly max: number) {}

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** Runs `fn` when a slot is free, unless `deadline` (epoch ms) passed first. */
  run<T>(fn: () => Promise<T>, deadline = Number.POSITIVE_INFINITY): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.#active++;
        fn()
          .then(resolve, reject)
          .finally(() => {
            this.#active--;
            this.#next();
          });
      };
      if (this.#active < this.max) start();
      else this.#queue.push({ start, refuse: reject, deadline });
    });
  }

  #next(): void {
    while (this.#active < this.max && this.#head < this.#queue.length) {
      const w = this.#queue[this.#head++] as Waiting;
      if (Date.now() > w.deadline) w.refuse(new DeadlineError());
      else w.start();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
