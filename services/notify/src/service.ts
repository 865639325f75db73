/**
 * One notify instance: the HTTP API, the `notify.query` responder, the Kafka ingress and mention
 * consumers, and the ops.stats heartbeat. `start()` brings them up; `drain()` stops taking work,
 * lets in-flight requests and batches finish (their offsets committed), then returns.
 * Embedded mode builds it on memory drivers, main.ts on real ones; it owns none of the drivers.
 */
import { hostname } from 'node:os';
import type { Verifier } from '@parley/auth';
import type { Bus, Subscription } from '@parley/bus';
import type { Logger } from '@parley/log';
import { KafkaTopics, Subjects } from '@parley/protocol';
import type { Stores } from '@parley/store';
import type { EventStream, StreamConsumer } from '@parley/stream';
import { NotifyApi } from './api.ts';
import type { NotifyConfig } from './config.ts';
import { consumeRequests, INGRESS_GROUP } from './ingress.ts';
import { Limiter } from './limiter.ts';
import { consumeMentions, MENTIONS_GROUP } from './mentions.ts';
import { createNotifyMetrics, type NotifyMetrics } from './metrics.ts';
import { Notifier } from './notifier.ts';
import { serveQueries } from './queries.ts';

export interface NotifyDeps {
  cfg: NotifyConfig;
  bus: Bus;
  stream: EventStream;
  stores: Stores;
  verifier: Verifier;
  log: Logger;
}

export class NotifyService {
  readonly instance: string;
  readonly metrics: NotifyMetrics;
  #port = 0;
  readonly #deps: NotifyDeps;
  readonly #log: Logger;
  readonly #api: NotifyApi;
  readonly #notifier: Notifier;
  #query?: Subscription;
  readonly #consumers = new Map<string, StreamConsumer>();
  #stats?: NodeJS.Timeout;
  #purge?: NodeJS.Timeout;
  #running = false;

  constructor(deps: NotifyDeps) {
    const { cfg } = deps;
    this.#deps = deps;
    this.instance = cfg.instance ?? `notify-${hostname()}-${process.pid}`;
    this.#log = deps.log.child({ instance: this.instance });
    this.metrics = createNotifyMetrics(this.instance);
    this.#notifier = new Notifier({
      stores: deps.stores,
      bus: deps.bus,
      metrics: this.metrics,
      log: this.#log,
      batchSize: cfg.batchSize,
      defaultTtlMs: cfg.defaultTtlMs,
      idempotencyTtlMs: cfg.idempotencyTtlMs,
    });
    this.#api = new NotifyApi({
      verifier: deps.verifier,
      notifier: this.#notifier,
      metrics: this.metrics,
      log: this.#log,
      maxBodyBytes: cfg.maxBodyBytes,
      maxUsers: cfg.maxUsers,
      notReady: () => this.#notReady(),
    });
  }

  /** The HTTP port actually bound (NOTIFY_PORT 0 picks a free one). */
  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const { cfg, bus, stream, stores } = this.#deps;
    const o = { stream, notifier: this.#notifier, metrics: this.metrics, log: this.#log };
    await stream.ensureTopics([
      { topic: KafkaTopics.notificationRequests },
      { topic: KafkaTopics.notificationRequestsDead },
      { topic: KafkaTopics.chatMessages },
    ]);
    this.#query = serveQueries({
      bus,
      inbox: stores.inbox,
      metrics: this.metrics,
      log: this.#log,
      unreadLimit: cfg.unreadLimit,
      limiter: new Limiter(cfg.queryConcurrency),
      deadlineMs: cfg.queryDeadlineMs,
    });
    await bus.flush();
    this.#consumers.set(
      INGRESS_GROUP,
      await consumeRequests({ ...o, maxBodyBytes: cfg.maxBodyBytes, maxUsers: cfg.maxUsers }),
    );
    if (cfg.mentions)
      this.#consumers.set(MENTIONS_GROUP, await consumeMentions({ ...o, defaultTtlMs: cfg.defaultTtlMs }));
    this.#port = await this.#api.listen(cfg.port, cfg.host);
    this.#stats = setInterval(() => void this.#heartbeat(), cfg.statsIntervalMs);
    if (cfg.purgeIntervalMs > 0)
      this.#purge = setInterval(() => void this.#purgeExpired(), cfg.purgeIntervalMs);
    this.#running = true;
    this.#log.info({ port: this.#port }, 'notify listening');
  }

  /**
   * Stops the API and consumers after their in-flight work, and lets live deliveries still waiting
   * for their claim finish; the drivers stay open (the caller owns them).
   */
  async drain(): Promise<void> {
    this.#running = false;
    if (this.#stats) clearInterval(this.#stats);
    if (this.#purge) clearInterval(this.#purge);
    this.#query?.unsubscribe();
    await this.#api.close();
    await Promise.all([...this.#consumers.values()].map((c) => c.stop()));
    this.#consumers.clear();
    await this.#notifier.drain();
    await this.#deps.bus.flush().catch(() => {});
  }

  async #notReady(): Promise<string | undefined> {
    if (!this.#running) return 'not started or draining';
    try {
      await this.#deps.bus.ping(1000);
      return undefined;
    } catch (e) {
      return `nats: ${(e as Error).message}`;
    }
  }

  /**
   * Deletes expired notifications and keys. FerretDB has no TTL indexes, so without this they stay
   * forever and every unread lookup (a collection scan there) gets slower; never throws.
   */
  async #purgeExpired(): Promise<void> {
    try {
      const purged = await this.#deps.stores.inbox.purgeExpired();
      this.metrics.purged.inc(purged);
      if (purged > 0) this.#log.info({ purged }, 'expired notifications and keys deleted');
    } catch (e) {
      this.#log.warn({ err: e }, 'purging expired notifications failed; next try in one interval');
    }
  }

  /** Samples Kafka lag into the gauge and publishes the ops.stats heartbeat; never throws. */
  async #heartbeat(): Promise<void> {
    try {
      const lag: Record<string, number> = {};
      for (const [group, c] of this.#consumers) {
        lag[group] = await c.lag();
        this.metrics.kafkaLag.set({ group }, lag[group]);
      }
      const total = async (c: { get(): Promise<{ values: { value: number; labels: object }[] }> }) =>
        (await c.get()).values.reduce((sum, v) => sum + v.value, 0);
      const requests = (await this.metrics.requests.get()).values;
      const accepted = requests
        .filter((v) => v.labels.result === 'accepted' || v.labels.result === 'replayed')
        .reduce((s, v) => s + v.value, 0);
      const stats = {
        service: 'notify',
        instance: this.instance,
        ts: Date.now(),
        accepted,
        rejected: (await total(this.metrics.requests)) - accepted,
        stored: await total(this.metrics.stored),
        deliveredLive: await total(this.metrics.deliveredLive),
        kafkaLag: lag,
      };
      this.#deps.bus.publish(Subjects.opsStats, JSON.stringify(stats));
    } catch (e) {
      this.#log.warn({ err: e }, 'stats heartbeat failed');
    }
  }
}
