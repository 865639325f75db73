/**
 * One presence instance. Every instance consumes every gateway delta and heartbeat (plain
 * subscriptions, not a queue group) so all hold the same state; only the leader (instances.ts)
 * publishes the events; queries go to any ready instance (queue group `presence`).
 *
 * Start-up: the instance rebuilds from the gateways before it serves. Each gateway heard from
 * (heartbeat, or a batch that is not its first) is asked for its snapshot; the instance becomes
 * ready after `rebuildWindowMs` once no snapshot is outstanding. While rebuilding it emits nothing
 * and answers no queries, so a restart causes no leave/join storm; later resynchronisations
 * (a gap or a digest mismatch) reconcile by diff, so only real changes become events.
 */

import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Verifier } from '@parley/auth';
import type { Bus, BusMsg, Subscription } from '@parley/bus';
import type { Logger } from '@parley/log';
import { type PresenceDelta, Subjects } from '@parley/protocol';
import type { PresenceConfig } from './config.ts';
import { EventPublisher } from './events.ts';
import { GatewayBook } from './gateways.ts';
import { type InstanceBeat, InstanceBook } from './instances.ts';
import { createPresenceMetrics, type PresenceMetrics } from './metrics.ts';
import { createHttpServer, natsQueryHandler } from './query.ts';
import { requestSnapshot } from './snapshot.ts';
import { type PresenceEvent, PresenceTracker } from './tracker.ts';
import { decodeBatch, decodeHeartbeat, decodeInstanceBeat } from './validate.ts';

export interface PresenceDeps {
  cfg: PresenceConfig;
  bus: Bus;
  verifier: Verifier;
  log: Logger;
  /** Milliseconds since the epoch; injected by tests. */
  clock?: () => number;
}

/** Expiry and readiness are checked this often. */
const TICK_MS = 100;
/** At most this many malformed-input warnings per stats interval (the counter counts them all). */
const WARN_BUDGET = 20;

export class PresenceService {
  readonly id: string;
  readonly tracker = new PresenceTracker();
  readonly metrics: PresenceMetrics;
  private readonly book: GatewayBook;
  private readonly instances: InstanceBook;
  private readonly publisher: EventPublisher;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly http: Server;
  private subs: Subscription[] = [];
  private timers: NodeJS.Timeout[] = [];
  private leader = false;
  private published = 0;
  private warnings = 0;
  private httpPort = 0;

  constructor(private readonly deps: PresenceDeps) {
    const { cfg, bus } = deps;
    this.now = deps.clock ?? Date.now;
    this.id =
      cfg.instance ?? `presence-${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    this.log = deps.log.child({ instance: this.id });
    this.book = new GatewayBook(this.now);
    const self: InstanceBeat = { id: this.id, startedAt: this.now(), ready: false };
    this.instances = new InstanceBook(self, cfg.instanceHeartbeatMs, this.now);
    const t = this.tracker;
    this.metrics = createPresenceMetrics(this.id, {
      onlineUsers: () => t.stats.onlineUsers,
      connections: () => t.stats.connections,
      rooms: () => t.stats.rooms,
      gatewaysAlive: () => this.book.alive,
      leader: () => (this.leader ? 1 : 0),
    });
    this.publisher = new EventPublisher(bus, cfg.largeRoomMembers, this.metrics);
    this.http = createHttpServer({
      tracker: t,
      verifier: deps.verifier,
      registry: this.metrics.registry,
      maxUsers: cfg.queryMaxUsers,
      ready: async () =>
        this.ready &&
        (await bus.ping(1000).then(
          () => true,
          () => false,
        )),
    });
  }

  get port(): number {
    return this.httpPort;
  }

  get ready(): boolean {
    return this.instances.self.ready;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    const { cfg, bus } = this.deps;
    this.subs = [
      bus.subscribe(Subjects.presenceDelta, (m) => this.onBatch(m)),
      bus.subscribe(Subjects.presenceHeartbeat, (m) => this.onHeartbeat(m)),
      bus.subscribe(Subjects.presenceInstances, (m) => this.onInstance(m)),
    ];
    await bus.flush();
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(cfg.port, cfg.host, () => resolve());
    });
    const addr = this.http.address();
    this.httpPort = typeof addr === 'object' && addr ? addr.port : cfg.port;
    this.every(TICK_MS, () => this.tick());
    this.every(cfg.instanceHeartbeatMs, () => this.announce());
    this.every(cfg.statsIntervalMs, () => this.stats());
    this.announce();
    this.log.info({ port: this.httpPort }, 'presence started, rebuilding from gateways');
  }

  /** Hands leadership over at once, stops consuming and serving; the caller closes the bus. */
  async drain(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.announce(true);
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.leader = false;
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await this.deps.bus.flush().catch(() => {});
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref?.();
    this.timers.push(t);
  }

  private onBatch(msg: BusMsg): void {
    const decoded = decodeBatch(msg.string());
    if (!decoded.ok) return this.malformed('batch', decoded.problem);
    const { batch, problems } = decoded.value;
    for (const p of problems) this.malformed('delta', p, batch.gw);
    const verdict = this.book.onBatch(batch);
    if (verdict === 'apply') this.applyDeltas(batch.gw, batch.deltas);
    else if (verdict === 'resync') void this.resync(batch.gw);
  }

  private onHeartbeat(msg: BusMsg): void {
    const hb = decodeHeartbeat(msg.string());
    if (!hb.ok) return this.malformed('heartbeat', hb.problem);
    if (this.book.onHeartbeat(hb.value, (gw) => this.tracker.digest(gw)) === 'resync')
      void this.resync(hb.value.gw);
  }

  private onInstance(msg: BusMsg): void {
    const beat = decodeInstanceBeat(msg.string());
    if (!beat.ok) return this.malformed('instance', beat.problem);
    this.instances.onBeat(beat.value);
    this.leader = this.instances.isLeader();
  }

  private applyDeltas(gw: string, deltas: readonly PresenceDelta[]): void {
    const events: PresenceEvent[] = [];
    let anomalies = 0;
    for (const d of deltas) if (!this.tracker.apply(gw, d, events)) anomalies++;
    this.metrics.deltas.inc(deltas.length);
    if (anomalies > 0) this.metrics.anomalies.inc(anomalies);
    this.emit(events);
  }

  private emit(events: PresenceEvent[]): void {
    if (events.length === 0 || !this.leader) return;
    this.publisher.publish(events);
    this.published += events.length;
  }

  /** Asks one gateway for its snapshot, reconciles by diff, then applies the batches buffered meanwhile. */
  private async resync(gw: string): Promise<void> {
    this.metrics.resyncs.inc();
    const { bus, cfg } = this.deps;
    try {
      const snap = await requestSnapshot(bus, gw, this.id, cfg.snapshotTimeoutMs);
      if (!this.book.isSyncing(gw)) return;
      this.applyDeltas(gw, this.tracker.diff(gw, snap.conns));
      const { batches, again } = this.book.snapshotApplied(gw, snap.seq);
      for (const b of batches) this.applyDeltas(gw, b.deltas);
      if (again) void this.resync(gw);
    } catch (e) {
      this.book.syncFailed(gw);
      this.log.warn(
        { gw, err: (e as Error).message },
        'snapshot request failed; retrying at its next heartbeat',
      );
    }
  }

  private tick(): void {
    const events: PresenceEvent[] = [];
    for (const gw of this.book.expire()) {
      this.tracker.dropGateway(gw, events);
      this.metrics.expired.inc();
      this.log.warn({ gw }, 'gateway missed 3 heartbeats: its connections expired');
    }
    this.emit(events);
    if (!this.ready) this.checkRebuilt();
    this.leader = this.instances.isLeader();
  }

  private checkRebuilt(): void {
    const elapsed = this.now() - this.instances.self.startedAt;
    const window = this.deps.cfg.rebuildWindowMs;
    if (elapsed < window || (this.book.syncing > 0 && elapsed < 3 * window)) return;
    this.instances.self.ready = true;
    this.metrics.rebuildSeconds.observe(elapsed / 1000);
    const q = natsQueryHandler(this.tracker, this.deps.cfg.queryMaxUsers);
    this.subs.push(this.deps.bus.subscribe(Subjects.presenceQuery, q, { queue: 'presence' }));
    this.announce();
    this.log.info(
      { ms: elapsed, ...this.tracker.stats, gateways: this.book.alive },
      'presence rebuilt, ready',
    );
  }

  private announce(leaving = false): void {
    const beat: InstanceBeat = leaving ? { ...this.instances.self, leaving } : this.instances.self;
    this.deps.bus.publish(Subjects.presenceInstances, JSON.stringify(beat));
  }

  private stats(): void {
    const secs = this.deps.cfg.statsIntervalMs / 1000;
    const s = this.tracker.stats;
    const stats = {
      service: 'presence',
      instance: this.id,
      ts: this.now(),
      onlineUsers: s.onlineUsers,
      connections: s.connections,
      rooms: s.rooms,
      gatewaysAlive: this.book.alive,
      eventsPerSec: Math.round(this.published / secs),
      leader: this.leader,
      ready: this.ready,
    };
    this.published = 0;
    this.warnings = 0;
    this.deps.bus.publish(Subjects.opsStats, JSON.stringify(stats));
  }

  private malformed(kind: string, problem: string, gw?: string): void {
    this.metrics.malformed.inc({ kind });
    if (this.warnings++ < WARN_BUDGET)
      this.log.warn({ kind, gw, problem }, 'malformed presence input ignored');
  }
}
