/**
 * Client options: defaults, then one validation pass that names every bad option in one error.
 * Timers and randomness are injectable so tests drive the state machine deterministically.
 */

/**
 * The part of the WebSocket API the SDK uses: browsers' and Node 22's global WebSocket, and the `ws`
 * package's class, fit as they are. The SDK only assigns the handlers (and reads `data`, `code` and
 * `reason` from the events), so their parameters are `never` here: any implementation's own event
 * types are accepted without a cast.
 */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: never) => void) | null;
  onmessage: ((ev: never) => void) | null;
  onclose: ((ev: never) => void) | null;
  onerror: ((ev: never) => void) | null;
}

/** What the SDK reads from a socket's events. */
export interface SocketMessage {
  data: unknown;
}
export interface SocketClose {
  code: number;
  reason: string;
}
export type SocketCtor = new (url: string) => SocketLike;

export type TimerHandle = unknown;
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  now(): number;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export type TokenSource = string | (() => Promise<string>);

export interface ClientOptions {
  /** ws:// or wss:// URL of the gateway's /ws endpoint. */
  url: string;
  /** A JWT, or a getter called on every connect and before expiry (its result is sent as `refresh`). */
  token: TokenSource;
  WebSocket?: SocketCtor;
  backoff?: Partial<Backoff>;
  /** Deadline of a publish promise, across reconnects and resends. */
  ackTimeoutMs?: number;
  /** Deadline of other requests (history, presence, ...). */
  requestTimeoutMs?: number;
  /** Unacked publishes kept for resending; more are refused with OutboxFullError. */
  outboxLimit?: number;
  /** Status goes `away` after this long without activity; 0 turns idle detection off. */
  idleAwayMs?: number;
  /** At most one `typing on` per room per interval. */
  typingThrottleMs?: number;
  /** The token getter is asked for a new token this long before the current one expires. */
  refreshBeforeMs?: number;
  /** Messages fetched from history to close one gap before the rest is reported as a `gap` event. */
  recoverLimit?: number;
  timers?: Timers;
  /** Uniform [0, 1): the jitter source. */
  random?: () => number;
}

export type Resolved = Required<Omit<ClientOptions, 'backoff' | 'WebSocket'>> & {
  backoff: Backoff;
  WebSocket: SocketCtor;
};

const realTimers: Timers = {
  // Looked up at call time so test fakes installed after construction still apply.
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

export function resolveOptions(o: ClientOptions): Resolved {
  const WebSocket = o.WebSocket ?? (globalThis as { WebSocket?: SocketCtor }).WebSocket;
  const r = {
    url: o.url,
    token: o.token,
    ackTimeoutMs: o.ackTimeoutMs ?? 30_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
    outboxLimit: o.outboxLimit ?? 1000,
    idleAwayMs: o.idleAwayMs ?? 5 * 60_000,
    typingThrottleMs: o.typingThrottleMs ?? 2000,
    refreshBeforeMs: o.refreshBeforeMs ?? 60_000,
    recoverLimit: o.recoverLimit ?? 5000,
    backoff: { initialMs: 500, maxMs: 30_000, factor: 2, ...o.backoff },
    timers: o.timers ?? realTimers,
    random: o.random ?? Math.random,
  };
  const problems: string[] = [];
  if (typeof r.url !== 'string' || !/^wss?:\/\//.test(r.url))
    problems.push('url must be a ws:// or wss:// URL');
  if (typeof r.token !== 'string' && typeof r.token !== 'function')
    problems.push('token must be a string or a function returning a promise of one');
  if (typeof WebSocket !== 'function')
    problems.push('WebSocket: no global WebSocket here; pass a WebSocket constructor');
  const positive = {
    ackTimeoutMs: r.ackTimeoutMs,
    requestTimeoutMs: r.requestTimeoutMs,
    outboxLimit: r.outboxLimit,
    typingThrottleMs: r.typingThrottleMs,
    recoverLimit: r.recoverLimit,
    'backoff.initialMs': r.backoff.initialMs,
    'backoff.maxMs': r.backoff.maxMs,
  };
  for (const [k, v] of Object.entries(positive))
    if (!(Number.isFinite(v) && v > 0)) problems.push(`${k} must be a positive number`);
  if (!(Number.isFinite(r.idleAwayMs) && r.idleAwayMs >= 0)) problems.push('idleAwayMs must be >= 0');
  if (!(Number.isFinite(r.refreshBeforeMs) && r.refreshBeforeMs >= 0))
    problems.push('refreshBeforeMs must be >= 0');
  if (!(r.backoff.factor >= 1)) problems.push('backoff.factor must be >= 1');
  if (r.backoff.maxMs < r.backoff.initialMs) problems.push('backoff.maxMs must be >= backoff.initialMs');
  if (problems.length > 0) throw new TypeError(`ParleyClient options: ${problems.join('; ')}`);
  return { ...r, WebSocket: WebSocket as SocketCtor };
}
