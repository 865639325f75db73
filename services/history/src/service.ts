/**
 * One history instance: the bridge (JetStream -> Kafka), the writer (Kafka -> Mongo), history.query
 * answers (queue group `history`, so instances share the load), the HTTP API, and the ops.stats
 * heartbeat. Several instances may run: JetStream hands each bridge batch to one of them, Kafka
 * splits the partitions among the writers.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Verifier } from '@parley/auth';
import type { Bus, Subscription } from '@parley/bus';
import type { Logger } from '@parley/log';
import { Subjects } from '@parley/protocol';
import type { Stores } from '@parley/store';
import type { EventStream } from '@parley/stream';
import { Bridge } from './bridge.ts';
import type { HistoryConfig } from './config.ts';
import { createHttpServer } from './http.ts';
import { createHistoryMetrics, type HistoryMetrics } from './metrics.ts';
import { Queries } from './query.ts';
import { Stats } from './stats.ts';
import { Writer } from './writer.ts';

export interface HistoryDeps {
  cfg: HistoryConfig;
  bus: Bus;
  stream: EventStream;
  stores: Stores;
  verifier: Verifier;
  log: Logger;
}

/** Readiness probes give up after this; a hung dependency reads as not ready. */
const PROBE_TIMEOUT_MS = 2_000;

export class HistoryService {
  readonly id: string;
  readonly metrics: HistoryMetrics;
  readonly bridge: Bridge;
  readonly writer: Writer;
  private readonly queries: Queries;
  private readonly http: Server;
  private readonly stats: Stats;
  private readonly inFlight = new Set<Promise<unknown>>();
  private sub: Subscription | undefined;
  private draining = false;
  private listening = 0;

  constructor(private readonly d: HistoryDeps) {
    const { cfg } = d;
    this.id =
      cfg.instance ?? `history-${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    const log = d.log.child({ instance: this.id });
    this.metrics = createHistoryMetrics(this.id);
    const common = { stream: d.stream, metrics: this.metrics, log };
    this.bridge = new Bridge({
      ...common,
      chat: d.bus.chat,
      durable: cfg.durable,
      topic: cfg.topic,
      batch: cfg.bridgeBatch,
    });
    this.writer = new Writer({
      ...common,
      sink: d.stores.sink,
      group: cfg.group,
      topic: cfg.topic,
      deadTopic: cfg.deadTopic,
      batch: cfg.writerBatch,
      maxRoomMembers: cfg.maxRoomMembers,
      retryMinMs: cfg.retryMinMs,
      retryMaxMs: cfg.retryMaxMs,
    });
    this.queries = new Queries(d.stores, cfg, this.metrics, log);
    this.http = createHttpServer({
      queries: this.queries,
      verifier: d.verifier,
      registry: this.metrics.registry,
      maxPage: cfg.maxPage,
      ready: () => this.readiness(),
      log,
    });
    this.stats = new Stats(d.bus, this.id, cfg.statsMs, this.bridge, this.writer, this.metrics);
    this.d = { ...d, log };
  }

  /** The HTTP port (after start; the real one when cfg.port is 0). */
  get port(): number {
    return this.listening;
  }

  async start(): Promise<void> {
    const { cfg, stream, bus } = this.d;
    await stream.ensureTopics([
      { topic: cfg.topic, partitions: cfg.kafkaPartitions },
      { topic: cfg.deadTopic, partitions: cfg.kafkaPartitions },
    ]);
    await this.writer.start();
    this.bridge.start();
    this.sub = bus.subscribe(Subjects.historyQuery, (msg) => this.track(msg.string(), msg), {
      queue: 'history',
    });
    await bus.flush();
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(cfg.port, cfg.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.listening = (this.http.address() as AddressInfo).port;
    this.stats.start();
    this.d.log.info({ port: this.listening }, 'history started');
  }

  /**
   * Readiness 503 at once; stops taking queries and answers those in flight; the bridge settles its
   * batch (acked after Kafka acked, or redelivered later); the writer settles its write and leaves
   * the group; then HTTP closes. Drivers (bus, stream, stores) belong to the caller.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.sub?.unsubscribe();
    await Promise.allSettled([...this.inFlight]);
    await this.bridge.stop();
    await this.writer.stop();
    this.stats.stop();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.d.log.info({ bridged: this.bridge.forwarded, written: this.writer.written }, 'history drained');
  }

  private track(text: string, msg: { respond(data: string): boolean }): void {
    const p = this.queries.answer(text).then((reply) => msg.respond(JSON.stringify(reply)));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }> {
    if (this.draining) return { ready: false, detail: { reason: 'draining' } };
    try {
      const natsRttMs = await this.d.bus.ping(PROBE_TIMEOUT_MS);
      const t0 = performance.now();
      await withTimeout(this.d.stores.messages.lastSeq('readyz'), PROBE_TIMEOUT_MS, 'store');
      return { ready: true, detail: { natsRttMs, storeMs: Math.round(performance.now() - t0) } };
    } catch (err) {
      return { ready: false, detail: { reason: (err as Error).message } };
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
