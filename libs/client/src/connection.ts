/**
 * One logical connection over a series of sockets: connecting -> open -> reconnecting -> ... -> closed.
 * `open` means the server's `welcome` arrived. Guarantees:
 * - replies are matched to requests by id and handled synchronously, in frame order, so a `joined`
 *   takes effect before the next frame is read;
 * - a request in flight when its socket drops fails with DisconnectedError (its effect is unknown);
 * - the token getter is called for every socket and a little before the token expires;
 * - after close() or an authentication stop, no socket is opened again.
 */
import type { ClientFrame, RequestId, ServerFrame, ServerFrameOf } from '@parley/protocol';
import { AuthError, ClosedError, DisconnectedError, ServerError, TimeoutError } from './errors.ts';
import type { ConnectionState, Emitter, StateChange } from './events.ts';
import type { Resolved, SocketClose, SocketLike, SocketMessage, TimerHandle } from './options.ts';
import { backoffDelay, closeAction, tokenExpiry } from './reconnect.ts';

export type Welcome = ServerFrameOf<'welcome'>;
export type Reply = ServerFrame | Error;
/** A client frame without its request id (the connection assigns ids). */
export type Outgoing = WithoutId<ClientFrame>;
type WithoutId<F> = F extends unknown ? Omit<F, 'id'> : never;

export interface ConnectionHooks {
  /** A socket was welcomed: rejoin, resend, restore per-connection state. */
  onOpen(welcome: Welcome): void;
  /** The socket is gone; in-flight requests have already failed. */
  onDown(): void;
  /** The connection ended for good (close() or an authentication failure). */
  onClosed(error: Error): void;
  /** Every frame that is not a reply to a pending request. */
  onFrame(frame: ServerFrame): void;
}

/** A client-side close code for a socket the SDK abandons itself (no traffic for too long). */
const LIVENESS_CLOSE = 4000;

export class Connection {
  state: ConnectionState = 'connecting';
  welcome: Welcome | undefined;
  private ws: SocketLike | undefined;
  private token = '';
  private attempt = 0;
  /** Set after an auth close: one fresh token is tried; a second auth close before welcome stops. */
  private reauthing = false;
  private hintMs: number | undefined;
  private nextId = 1;
  private readonly pending = new Map<RequestId, (r: Reply) => void>();
  private readonly waiters = new Set<(e?: Error) => void>();
  private readonly timers = new Map<'reconnect' | 'refresh' | 'liveness', TimerHandle>();
  /** Set by every frame and cleared by each liveness tick: a flag, so receiving reads no clock. */
  private heard = false;
  /** Liveness ticks in a row that found no frame since the previous one. */
  private silentTicks = 0;
  /** Server clock minus local clock, measured at welcome; token expiry is judged by the server's clock. */
  private skewMs = 0;

  constructor(
    private readonly o: Resolved,
    private readonly hooks: ConnectionHooks,
    private readonly events: Emitter,
  ) {}

  start(): void {
    this.setState({ state: 'connecting' });
    void this.connect();
  }

  close(): void {
    this.stop(new ClosedError('client closed'));
  }

  /** Sends a frame on the open socket; false when there is none (the caller keeps it for later). */
  send(frame: Outgoing | ClientFrame): boolean {
    if (this.state !== 'open' || !this.ws) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends a request now and calls `done` with its reply or failure; false when not open. */
  call(frame: Outgoing, done: (r: Reply) => void): RequestId | undefined {
    const id = this.nextId++;
    if (!this.send({ ...frame, id } as ClientFrame)) return undefined;
    this.pending.set(id, done);
    return id;
  }

  /** Waits for the connection to be open (within `timeoutMs`), then sends and awaits the reply. */
  async request(frame: Outgoing, timeoutMs = this.o.requestTimeoutMs): Promise<ServerFrame> {
    const deadline = this.o.timers.now() + timeoutMs;
    await this.opened(timeoutMs);
    return new Promise((resolve, reject) => {
      const left = Math.max(0, deadline - this.o.timers.now());
      const timer = this.o.timers.setTimeout(() => {
        if (id !== undefined) this.pending.delete(id);
        reject(new TimeoutError(`no reply to ${frame.type} within ${timeoutMs} ms`));
      }, left);
      const id = this.call(frame, (r) => {
        this.o.timers.clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      });
      if (id === undefined) {
        this.o.timers.clearTimeout(timer);
        reject(new DisconnectedError(`not connected; ${frame.type} not sent`));
      }
    });
  }

  /** Resolves when the connection is open; rejects when closed or after `timeoutMs`. */
  opened(timeoutMs: number): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new ClosedError('client closed'));
    return new Promise((resolve, reject) => {
      const timer = this.o.timers.setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new TimeoutError(`not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (e?: Error) => {
        this.o.timers.clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
      this.waiters.add(waiter);
    });
  }

  private async connect(): Promise<void> {
    let token: string;
    try {
      token = await this.getToken();
    } catch (e) {
      return this.stop(new AuthError('the token getter failed', { cause: e }));
    }
    if (this.state === 'closed') return;
    this.token = token;
    const url = new URL(this.o.url);
    url.searchParams.set('token', token);
    let ws: SocketLike;
    try {
      ws = new this.o.WebSocket(url.toString());
    } catch (e) {
      this.events.emit('error', new Error('cannot open a WebSocket', { cause: e }));
      return this.onClose(1006, 'cannot open a WebSocket');
    }
    this.ws = ws;
    ws.onmessage = (ev: SocketMessage) => {
      if (this.ws === ws) this.onData(ev.data);
    };
    ws.onclose = (ev: SocketClose) => {
      if (this.ws === ws) this.onClose(ev.code, ev.reason);
    };
    // Browsers follow an error with a close event, but Node 22's WebSocket leaves a refused
    // connection in CONNECTING with no close: an error is handled as the drop (1006) it means.
    ws.onerror = () => {
      if (this.ws === ws) this.abandon(ws, 1006, 'socket error');
    };
    // A handshake that never completes (a server accepting TCP but not answering) is a drop too.
    this.setTimer('liveness', () => this.abandon(ws, LIVENESS_CLOSE, 'no welcome'), this.o.requestTimeoutMs);
  }

  private getToken(): Promise<string> {
    const t = this.o.token;
    return typeof t === 'string' ? Promise.resolve(t) : t();
  }

  private onData(data: unknown): void {
    this.heard = true;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(data)) as ServerFrame;
    } catch {
      return this.events.emit('error', new Error('the server sent a frame that is not JSON'));
    }
    const id = (frame as { id?: RequestId }).id;
    const done = id === undefined ? undefined : this.pending.get(id);
    if (done) {
      this.pending.delete(id as RequestId);
      return done(frame.type === 'error' ? new ServerError(frame.code, frame.message) : frame);
    }
    if (frame.type === 'welcome') return this.onWelcome(frame);
    if (frame.type === 'reconnect') this.hintMs = frame.afterMs;
    else this.hooks.onFrame(frame);
  }

  private onWelcome(w: Welcome): void {
    this.welcome = w;
    this.skewMs = w.serverTime - this.o.timers.now();
    this.attempt = 0;
    this.reauthing = false;
    this.setState({ state: 'open' });
    this.scheduleRefresh();
    this.scheduleLiveness(w.heartbeatMs);
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
    this.hooks.onOpen(w);
  }

  private onClose(code: number, reason: string): void {
    this.detach();
    if (this.state === 'closed') return;
    this.hooks.onDown();
    const action = closeAction(code);
    if (action === 'reauth') {
      if (typeof this.o.token === 'string' || this.reauthing) {
        return this.stop(new AuthError(`closed with ${code} (${reason}) and no new token helps`));
      }
      this.reauthing = true;
    }
    const delayMs =
      this.hintMs ??
      (action === 'hard' ? this.o.backoff.maxMs : backoffDelay(this.attempt, this.o.backoff, this.o.random));
    this.hintMs = undefined;
    this.attempt++;
    this.setState({ state: 'reconnecting', attempt: this.attempt, delayMs, code, reason });
    this.setTimer('reconnect', () => void this.connect(), delayMs);
  }

  /** Forgets the current socket: timers off, in-flight requests failed. */
  private detach(): void {
    this.ws = undefined;
    this.clearTimers();
    const lost = new DisconnectedError('the connection dropped before the reply');
    for (const done of this.pending.values()) done(lost);
    this.pending.clear();
  }

  private stop(error: Error): void {
    if (this.state === 'closed') return;
    const ws = this.ws;
    this.state = 'closed';
    this.detach();
    ws?.close(1000, 'client closed');
    for (const waiter of this.waiters) waiter(error);
    this.waiters.clear();
    this.setState(error instanceof ClosedError ? { state: 'closed' } : { state: 'closed', error });
    this.hooks.onClosed(error);
  }

  private setState(change: StateChange): void {
    this.state = change.state;
    this.events.emit('state', change);
  }

  /** Asks the getter for a new token `refreshBeforeMs` before expiry, by the server's clock. */
  private scheduleRefresh(): void {
    const exp = tokenExpiry(this.token);
    if (typeof this.o.token === 'string' || exp === undefined) return;
    const delay = Math.max(0, exp - (this.o.timers.now() + this.skewMs) - this.o.refreshBeforeMs);
    this.setTimer('refresh', () => void this.refresh(), delay);
  }

  private async refresh(): Promise<void> {
    const ws = this.ws;
    let token: string;
    try {
      token = await this.getToken();
    } catch (e) {
      // The server closes with 4003 at expiry; the reauth path asks the getter once more.
      return this.events.emit('error', new AuthError('token refresh failed', { cause: e }));
    }
    if (this.ws !== ws) return;
    this.call({ type: 'refresh', token }, (r) => {
      if (r instanceof Error) return this.events.emit('error', r);
      this.token = token;
      this.scheduleRefresh();
    });
  }

  /**
   * Pings every heartbeat; a socket with no frame for two heartbeats is abandoned as half-open
   * (TCP may not notice a dead peer for minutes) and handled like any other drop.
   */
  private scheduleLiveness(heartbeatMs: number): void {
    this.heard = true; // the welcome
    this.silentTicks = 0;
    const tick = () => {
      const ws = this.ws;
      if (!ws) return;
      this.silentTicks = this.heard ? 0 : this.silentTicks + 1;
      this.heard = false;
      // Two whole intervals without a frame: silent for between two and three heartbeats.
      if (this.silentTicks >= 2) return this.abandon(ws, LIVENESS_CLOSE, 'no traffic from the server');
      this.send({ type: 'ping' });
      this.setTimer('liveness', tick, heartbeatMs);
    };
    this.setTimer('liveness', tick, heartbeatMs);
  }

  /** Gives up on a socket the SDK no longer trusts; its later events are ignored. */
  private abandon(ws: SocketLike, code: number, reason: string): void {
    try {
      ws.close(LIVENESS_CLOSE, reason);
    } catch {
      // Closing a socket that never opened may throw in some runtimes; it is dropped either way.
    }
    this.onClose(code, reason);
  }

  private setTimer(key: 'reconnect' | 'refresh' | 'liveness', fn: () => void, ms: number): void {
    this.o.timers.clearTimeout(this.timers.get(key));
    this.timers.set(key, this.o.timers.setTimeout(fn, ms));
  }

  private clearTimers(): void {
    for (const t of this.timers.values()) this.o.timers.clearTimeout(t);
    this.timers.clear();
  }
}
