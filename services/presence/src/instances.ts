/**
 * Which presence instance emits events. Every instance applies every delta (so all agree on the
 * state and any can answer queries), but only the leader publishes the events they cause, so each
 * change produces one event. Instances announce themselves on `presence.instances` every
 * interval; the leader is the longest-running ready instance (earliest `startedAt`, then lowest
 * id) among those heard from within DEAD_AFTER beats.
 *
 * Why the oldest rather than the lowest id: a newcomer never takes over from a live leader, so an
 * instance starting (or restarting) cannot cause a moment with two leaders; leadership moves only
 * when the leader leaves (at once: it announces `leaving` on drain) or dies (after DEAD_AFTER
 * intervals; events of changes in that gap are not sent — clients can still query). An instance
 * also waits WARM_UP intervals after starting, to hear the others, before it may lead.
 */

export interface InstanceBeat {
  id: string;
  startedAt: number;
  ready: boolean;
  leaving?: boolean;
}

const DEAD_AFTER = 3;
const WARM_UP = 2;

export class InstanceBook {
  private readonly seen = new Map<string, { beat: InstanceBeat; at: number }>();

  constructor(
    readonly self: InstanceBeat,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  onBeat(b: InstanceBeat): void {
    if (b.id === this.self.id) return;
    if (b.leaving) this.seen.delete(b.id);
    else this.seen.set(b.id, { beat: b, at: this.now() });
  }

  get instances(): number {
    return this.live().length + 1;
  }

  isLeader(): boolean {
    if (!this.self.ready || this.now() - this.self.startedAt < WARM_UP * this.intervalMs) return false;
    return this.live().every((b) => !b.ready || before(this.self, b));
  }

  private live(): InstanceBeat[] {
    const cutoff = this.now() - DEAD_AFTER * this.intervalMs;
    const out: InstanceBeat[] = [];
    for (const [id, s] of this.seen) {
      if (s.at < cutoff) this.seen.delete(id);
      else out.push(s.beat);
    }
    return out;
  }
}

const before = (a: InstanceBeat, b: InstanceBeat) =>
  a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.id < b.id);
