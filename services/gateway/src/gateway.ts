/**
 * One gateway instance: uWS app + fan-out + presence reporter over a Bus. `start()` listens,
 * `drain()` is the graceful SIGTERM path (readiness 503, no new connections, staggered 1001 closes
 * with reconnect hints), `stop()` is the abrupt one (tests, embedded shutdown).
 */

import * as uWS from 'uWebSockets.js';
import { hostname } from 'node:os';
import type { Verifier } from '@parley/auth';
import type { Bus } from '@parley/bus';
import type { Logger } from '@parley/log';
import { CloseCodes, type UserEvent } from '@parley/protocol';
import { applyName } from './commands/index.ts';
import type { GatewayConfig } from './config.ts';
import type { Conn } from './connection.ts';
import type { Ctx } from './context.ts';
import { Fanout, topics } from './fanout.ts';
import { routes } from './http.ts';
import { createGatewayMetrics } from './metrics.ts';
import { OpsMonitor, opsRoutes } from './ops.ts';
import { PresenceReporter } from './presence.ts';
import { socketBehavior } from './socket.ts';

export interface GatewayDeps {
  cfg: GatewayConfig;
  bus: Bus;
  verifier: Verifier;
  log: Logger;
}

/** How often sockets are checked for send-buffer overflow; token expiry is checked every 4th sweep. */
const SWEEP_MS = 250;

export class Gateway {
  readonly id: string;
  readonly ctx: Ctx;
  readonly conns = new Set<Conn>();
  readonly ops: OpsMonitor;
  draining = false;
  private readonly app: uWS.TemplatedApp;
  private listenSocket: uWS.us_listen_socket | undefined;
  private sweepTimer?: NodeJS.Timeout;
  private sweeps = 0;
  private fanoutSinceSweep = 0;
  private port = 0;

  constructor(deps: GatewayDeps) {
    const { cfg, bus, verifier } = deps;
    this.id = cfg.instance ?? `gw-${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    const log = deps.log.child({ instance: this.id });
    const metrics = createGatewayMetrics(this.id);
    this.app = uWS.App();
    const users = new Map<string, readonly Conn[]>();
    const fanout = new Fanout({
      app: this.app,
      bus,
      gatewayId: this.id,
      lingerMs: cfg.roomLingerMs,
      metrics,
      onUserEvent: (userId, ev) => this.onUserEvent(userId, ev),
      onFanout: (chars) => this.onFanout(chars),
    });
    const presence = new PresenceReporter(bus, this.id, cfg.presenceHeartbeatMs, {
      count: () => this.conns.size,
      snapshot: () =>
        [...this.conns].map((c) => ({
          conn: c.id,
          user: c.userId,
          status: c.status,
          ...(c.name === undefined ? {} : { name: c.name }),
          rooms: [...c.rooms],
        })),
    });
    this.ctx = { cfg, gatewayId: this.id, bus, fanout, metrics, log, verifier, presence, users };
    const allowed = new Set(cfg.allowedOrigins);
    const gateway = this;
    const host = {
      ctx: this.ctx,
      conns: this.conns,
      get draining() {
        return gateway.draining;
      },
      originAllowed: (origin: string) => allowed.size === 0 || allowed.has('*') || allowed.has(origin),
    };
    this.app.ws('/ws', socketBehavior(host));
    const sources = { metrics, conns: () => this.conns, draining: () => this.draining };
    this.ops = new OpsMonitor({ bus, instance: this.id, sources });
    opsRoutes(this.app, this.ops, verifier);
    routes(this.app, host);
  }

  /** Listens on cfg.port (0 = any free port); resolves with the port. */
  async start(): Promise<number> {
    const { cfg } = this.ctx;
    await new Promise<void>((resolve, reject) => {
      this.app.listen(cfg.host, cfg.port, (s) => {
        if (!s) return reject(new Error(`GATEWAY_PORT ${cfg.port}: cannot listen (port in use?)`));
        this.listenSocket = s;
        this.port = uWS.us_socket_local_port(s);
        resolve();
      });
    });
    this.ctx.presence.start();
    this.ops.start();
    this.sweepTimer = setInterval(() => this.sweep(true), SWEEP_MS);
    this.ctx.log.info({ port: this.port }, 'gateway listening');
    return this.port;
  }

  get listeningPort(): number {
    return this.port;
  }

  /**
   * Graceful: readiness 503 and no new connections at once; each connection gets a `reconnect`
   * hint and a 1001 close, in batches spread over the drain period, so clients land on other
   * gateways gradually instead of in one storm. Resolves when every socket is closed.
   */
  async drain(periodMs = this.ctx.cfg.drainMs): Promise<void> {
    this.draining = true;
    this.closeListenSocket();
    const conns = [...this.conns].sort(() => Math.random() - 0.5);
    const steps = Math.max(1, Math.floor(periodMs / 100));
    const perStep = Math.max(1, Math.ceil(conns.length / steps));
    this.ctx.log.info({ connections: conns.length, periodMs }, 'draining');
    for (let i = 0; i < conns.length; i += perStep) {
      for (const c of conns.slice(i, i + perStep)) {
        c.send({ type: 'reconnect', afterMs: Math.floor(Math.random() * 500) });
        c.end(CloseCodes.goingAway.code, 'server going away');
      }
      if (i + perStep < conns.length) await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
  }

  /** Closes everything now. */
  async stop(): Promise<void> {
    this.draining = true;
    this.closeListenSocket();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const c of [...this.conns]) c.end(CloseCodes.goingAway.code, 'server stopping');
    this.ctx.presence.stop();
    this.ops.stop();
    this.ctx.fanout.close();
    await this.ctx.bus.flush().catch(() => {});
    this.app.close();
  }

  private closeListenSocket(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  private onUserEvent(userId: string, ev: UserEvent): void {
    if (ev.kind === 'name') return applyName(this.ctx, userId, ev.name);
    for (const c of this.ctx.users.get(userId) ?? []) {
      if (ev.kind === 'frame') c.sendText(ev.frame);
      else c.end(CloseCodes.unauthorized.code, ev.reason.slice(0, 100));
    }
  }

  /**
   * A busy room can fill a paused socket's buffer far faster than the 250 ms sweep looks: past
   * uWS's hard cap (4x SEND_BUFFER_LIMIT) uWS drops the socket itself with 1006, not the contract's
   * 4010. So the sweep also runs whenever half a buffer limit of chat has been fanned out since the
   * last one: no socket can gain more than that (x3 for non-ASCII) between two checks.
   */
  private onFanout(chars: number): void {
    this.fanoutSinceSweep += chars;
    if (this.fanoutSinceSweep >= this.ctx.cfg.sendBufferBytes / 2) this.sweep(false);
  }

  /** Slow consumers (4010), congestion for ephemeral frames, and (on timer sweeps) token expiry (4003). */
  private sweep(timer: boolean): void {
    const { cfg, metrics } = this.ctx;
    this.fanoutSinceSweep = 0;
    const checkExpiry = timer && this.sweeps++ % 4 === 0;
    const nowSec = Date.now() / 1000;
    for (const c of this.conns) {
      if (c.closed) continue;
      const buffered = c.ws.getBufferedAmount();
      if (buffered > cfg.sendBufferBytes) {
        metrics.slowConsumers.inc();
        c.end(CloseCodes.slowConsumer.code, 'slow consumer: send buffer full; reconnect and recover');
        continue;
      }
      if (!c.congested && buffered > cfg.ephemeralBufferBytes) {
        c.congested = true;
        metrics.ephemeralDropped.inc();
        for (const room of c.rooms) c.ws.unsubscribe(topics.eph(room));
      }
      if (checkExpiry && c.identity.exp <= nowSec) c.end(CloseCodes.tokenExpired.code, 'token expired');
    }
  }
}
