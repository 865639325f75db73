/**
 * In-process driver with the EventStream guarantees, for embedded mode and unit tests.
 *
 * Each (group, topic, partition) has one "lane": a loop that hands the records after the group's
 * committed offset to the partition's current owner, one batch at a time, and commits only after
 * the handler resolves. Because a lane is the only thing that ever calls handlers for its
 * partition, per-partition order and one-batch-at-a-time hold across rebalances for free;
 * membership only decides whose handler the lane calls next.
 *
 * Memory stays bounded: a record is dropped once every group that ever consumed its topic has
 * committed past it; a topic no group consumes keeps at most `retainWithoutGroup` records per
 * partition (oldest dropped first, like Kafka retention).
 */
import { StreamError } from './errors.ts';
import type { ConsumeOptions, EventStream, InRecord, OutRecord, StreamConsumer } from './stream.ts';

export interface MemoryStreamOptions {
  /** Partitions of a topic created without an explicit count. Default 4. */
  partitions?: number;
  /** Records kept per partition of a topic no group consumes. Default 10,000. */
  retainWithoutGroup?: number;
}

/** The EventStream plus introspection for tests of the memory bound. */
export interface MemoryStream extends EventStream {
  /** Records currently held for `topic`, over all partitions. */
  retained(topic: string): number;
}

type Handler = (batch: InRecord[]) => Promise<void>;

interface Partition {
  /** Offset of records[0]; records below it were dropped. */
  base: number;
  records: InRecord[];
}

interface Topic {
  partitions: Partition[];
  groups: Set<Group>;
  /** Wakes every lane of this topic: new records, membership change, or stop. */
  changed: Signal;
}

interface Member {
  topics: string[];
  handler: Handler;
  maxBatch: number;
  stopped: boolean;
  inFlight: Set<Promise<unknown>>;
}

interface Group {
  /** Next offset to hand out per topic and partition (Kafka's committed offset). */
  committed: Map<string, number[]>;
  members: Member[];
}

const DEFAULT_MAX_BATCH = 500;
const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 1_000;

/** Wakes every current waiter; a waiter registered after notify() waits for the next one. */
class Signal {
  private waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** FNV-1a: stable across runs, so a key always lands on the same partition. */
function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

const endOf = (p: Partition) => p.base + p.records.length;

export function createMemoryStream(opts: MemoryStreamOptions = {}): MemoryStream {
  return new MemoryEventStream(opts.partitions ?? 4, opts.retainWithoutGroup ?? 10_000);
}

class MemoryEventStream implements MemoryStream {
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private readonly lanes: Promise<void>[] = [];
  private stopped = false;
  /** Cuts retry back-offs short when the stream stops. */
  private readonly stopping = new Signal();

  constructor(
    private readonly defaultPartitions: number,
    private readonly retainWithoutGroup: number,
  ) {}

  async start(): Promise<void> {}

  async ensureTopics(topics: { topic: string; partitions?: number }[]): Promise<void> {
    for (const { topic, partitions = this.defaultPartitions } of topics) {
      if (this.topics.has(topic)) continue;
      const parts = Array.from({ length: partitions }, () => ({ base: 0, records: [] }));
      this.topics.set(topic, { partitions: parts, groups: new Set(), changed: new Signal() });
    }
  }

  async send(topic: string, records: OutRecord[]): Promise<void> {
    if (this.stopped) throw new StreamError('stopped', 'stream is stopped');
    const t = this.topic(topic);
    const timestamp = Date.now();
    for (const r of records) {
      const partition = partitionOf(r.key, t.partitions.length);
      const p = t.partitions[partition]!;
      const rec: InRecord = {
        topic,
        partition,
        offset: String(endOf(p)),
        timestamp,
        key: r.key,
        value: r.value,
      };
      if (r.headers) rec.headers = { ...r.headers };
      p.records.push(rec);
    }
    t.partitions.forEach((p, i) => {
      this.trim(t, p, i, topic);
    });
    t.changed.notify();
  }

  async consume(opts: ConsumeOptions, handler: Handler): Promise<StreamConsumer> {
    if (this.stopped) throw new StreamError('stopped', 'stream is stopped');
    const topics = opts.topics.map((name) => [name, this.topic(name)] as const);
    const group = this.group(opts.group);
    const member: Member = {
      topics: opts.topics,
      handler,
      maxBatch: Math.max(1, opts.maxBatch ?? DEFAULT_MAX_BATCH),
      stopped: false,
      inFlight: new Set(),
    };
    for (const [name, t] of topics) {
      if (!group.committed.has(name)) this.subscribe(group, name, t, opts.fromBeginning ?? true);
    }
    group.members.push(member);
    for (const [, t] of topics) t.changed.notify();
    return {
      stop: () => this.leave(group, member),
      lag: async () => this.lag(group, opts.topics),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.notify();
    for (const t of this.topics.values()) t.changed.notify();
    await Promise.all(this.lanes);
  }

  retained(topic: string): number {
    return this.topic(topic).partitions.reduce((n, p) => n + p.records.length, 0);
  }

  private topic(name: string): Topic {
    const t = this.topics.get(name);
    if (!t) throw new StreamError('unknown_topic', `unknown topic ${name}: call ensureTopics first`);
    return t;
  }

  private group(name: string): Group {
    let g = this.groups.get(name);
    if (!g) {
      g = { committed: new Map(), members: [] };
      this.groups.set(name, g);
    }
    return g;
  }

  /** First consumer of `group` on `topic`: fixes where the group starts and starts its lanes. */
  private subscribe(group: Group, name: string, t: Topic, fromBeginning: boolean): void {
    group.committed.set(
      name,
      t.partitions.map((p) => (fromBeginning ? p.base : endOf(p))),
    );
    t.groups.add(group);
    t.partitions.forEach((_, i) => {
      this.lanes.push(this.runLane(group, name, t, i));
    });
  }

  private async leave(group: Group, member: Member): Promise<void> {
    if (member.stopped) return;
    member.stopped = true;
    group.members = group.members.filter((m) => m !== member);
    for (const name of member.topics) this.topics.get(name)?.changed.notify();
    await Promise.allSettled([...member.inFlight]);
  }

  /** Partitions are dealt round robin over the members subscribed to the topic, in join order. */
  private ownerOf(group: Group, topic: string, partition: number): Member | undefined {
    const subscribed = group.members.filter((m) => m.topics.includes(topic));
    return subscribed[partition % Math.max(1, subscribed.length)];
  }

  private async runLane(group: Group, name: string, t: Topic, i: number): Promise<void> {
    const p = t.partitions[i]!;
    const committed = group.committed.get(name)!;
    let failures = 0;
    while (!this.stopped) {
      const from = Math.max(committed[i]!, p.base);
      const owner = this.ownerOf(group, name, i);
      if (!owner || from >= endOf(p)) {
        await t.changed.wait();
        continue;
      }
      const batch = p.records.slice(from - p.base, from - p.base + owner.maxBatch);
      const call = owner.handler(batch);
      owner.inFlight.add(call);
      try {
        await call;
        failures = 0;
        committed[i] = from + batch.length;
        this.trim(t, p, i, name);
      } catch {
        // At least once: the same records go to the (possibly new) owner after a back-off.
        failures++;
        await Promise.race([
          sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures)),
          this.stopping.wait(),
        ]);
      } finally {
        owner.inFlight.delete(call);
      }
    }
  }

  private trim(t: Topic, p: Partition, i: number, name: string): void {
    let keepFrom = endOf(p) - this.retainWithoutGroup;
    if (t.groups.size > 0) {
      keepFrom = Math.min(...[...t.groups].map((g) => g.committed.get(name)![i]!));
    }
    const drop = keepFrom - p.base;
    if (drop <= 0) return;
    p.records.splice(0, drop);
    p.base = keepFrom;
  }

  private lag(group: Group, topics: string[]): number {
    let lag = 0;
    for (const name of topics) {
      const committed = group.committed.get(name)!;
      this.topic(name).partitions.forEach((p, i) => {
        lag += Math.max(0, endOf(p) - committed[i]!);
      });
    }
    return lag;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
