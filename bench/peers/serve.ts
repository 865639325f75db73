/**
 * The publishing side shared by every peer server and the JetStream driver: the runner sends a plan
 * (rooms, messages per room per tick, and either a credit it keeps raising — closed loop, so no
 * server buffers grow without bound — or a fixed rate), this loop publishes from a timer/immediate,
 * never from inside a socket callback.
 */

export interface Target {
  publish(room: string, n: number): void;
  connections(): number;
  /** Messages that may start now (the driver's in-flight cap); unlimited when absent. */
  capacity?(): number;
  /** Called after a tick's messages (the driver flushes its socket). */
  endTick?(): void;
  stats?(): Record<string, number>;
}

export type ToServer =
  /** `shard: [i, n]`: this process publishes to rooms r<k> with k % n === i (several drivers). */
  | { op: 'plan'; rooms: number; batch: number; rate?: number; shard?: [number, number] }
  | { op: 'credit'; total: number }
  | { op: 'stop' }
  | { op: 'status' };

export interface ServerStatus {
  op: 'status';
  published: number;
  connections: number;
  extra: Record<string, number>;
}

export function serve(target: Target, port: number): void {
  let rooms: string[] = [];
  const seq: number[] = [];
  let batch = 1;
  let rate = 0;
  let credit = 0;
  let t0 = 0;
  let published = 0;
  let running = false;
  let cursor = 0;
  let inRoom = 0;
  let scheduled = false;

  const tick = (): void => {
    scheduled = false;
    if (!running || rooms.length === 0) return;
    const due = rate > 0 ? Math.floor((rate * (performance.now() - t0)) / 1000) : credit;
    let budget = Math.min(due - published, batch * rooms.length, target.capacity?.() ?? Infinity);
    const did = budget > 0;
    while (budget-- > 0) {
      const r = rooms[cursor] as string;
      const n = (seq[cursor] as number) + 1;
      seq[cursor] = n;
      target.publish(r, n);
      published++;
      if (++inRoom >= batch) {
        inRoom = 0;
        cursor = (cursor + 1) % rooms.length;
      }
    }
    if (did) target.endTick?.();
    schedule(did);
  };
  const schedule = (now: boolean): void => {
    if (scheduled || !running) return;
    scheduled = true;
    if (now) setImmediate(tick);
    else setTimeout(tick, 1);
  };

  process.on('message', (raw: unknown) => {
    const m = raw as ToServer;
    switch (m.op) {
      case 'plan':
        {
          const [index, count] = m.shard ?? [0, 1];
          rooms = [];
          for (let i = index; i < m.rooms; i += count) rooms.push(`r${i}`);
        }
        seq.length = 0;
        for (let i = 0; i < rooms.length; i++) seq.push(0);
        batch = m.batch;
        rate = m.rate ?? 0;
        credit = 0;
        published = 0;
        cursor = 0;
        inRoom = 0;
        t0 = performance.now();
        running = true;
        schedule(true);
        return;
      case 'credit':
        credit = m.total;
        schedule(true);
        return;
      case 'stop':
        running = false;
        return;
      case 'status': {
        const s: ServerStatus = {
          op: 'status',
          published,
          connections: target.connections(),
          extra: target.stats?.() ?? {},
        };
        process.send?.(s);
      }
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ op: 'ready', port });
}
