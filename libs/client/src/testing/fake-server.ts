/**
 * A scripted server for unit tests: a fake WebSocket class whose sockets record what the client
 * sends and let the test play the server's part (welcome, replies, pushes, closes). Pair it with
 * vi.useFakeTimers() and the injected `random` to make every delay exact.
 */
import { type ClientFrame, DEFAULT_LIMITS, type ServerFrame } from '@parley/protocol';
import { ParleyClient } from '../client.ts';
import type { ClientOptions, SocketLike } from '../options.ts';

type Frame = ClientFrame & { id?: string | number };

export class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: Frame[] = [];
  /** Answer pings like the gateway does; off to test the client's liveness check. */
  autoPong = true;
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  get token(): string | null {
    return new URL(this.url).searchParams.get('token');
  }

  send(data: string): void {
    const frame = JSON.parse(data) as Frame;
    this.sent.push(frame);
    if (frame.type === 'ping' && this.autoPong)
      queueMicrotask(() => this.push({ type: 'pong', serverTime: Date.now() }));
  }

  close(code?: number, reason?: string): void {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }

  // ---- the server's side ----

  push(frame: ServerFrame | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  welcome(
    over: { heartbeatMs?: number; serverTime?: number; limits?: Partial<typeof DEFAULT_LIMITS> } = {},
  ): void {
    this.readyState = 1;
    this.onopen?.({});
    this.push({
      type: 'welcome',
      connId: 'c1',
      userId: 'alice',
      heartbeatMs: over.heartbeatMs ?? 30_000,
      serverTime: over.serverTime ?? Date.now(),
      limits: { ...DEFAULT_LIMITS, ...over.limits },
      protocol: 1,
    });
  }

  /** A failed connection as Node 22 reports it: an error event and no close. */
  fail(): void {
    this.onerror?.({});
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Frames of one type the client sent, oldest first. */
  of<T extends Frame['type']>(type: T): Extract<Frame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<Frame, { type: T }> => f.type === type);
  }

  last<T extends Frame['type']>(type: T): Extract<Frame, { type: T }> {
    const f = this.of(type).at(-1);
    if (!f) throw new Error(`the client sent no ${type} frame`);
    return f;
  }

  /** Answers the client's last request of `type`, echoing its id. */
  reply<T extends Frame['type']>(type: T, frame: ServerFrame | Record<string, unknown>): void {
    this.push({ ...frame, id: this.last(type).id } as Record<string, unknown>);
  }
}

export interface FakeServer {
  WebSocket: new (url: string) => FakeSocket;
  sockets: FakeSocket[];
  /** The newest socket. */
  readonly socket: FakeSocket;
}

export function fakeServer(): FakeServer {
  const sockets: FakeSocket[] = [];
  class Socket extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Socket,
    sockets,
    get socket() {
      const s = sockets.at(-1);
      if (!s) throw new Error('the client opened no socket');
      return s;
    },
  };
}

/** A client on a fake server with deterministic jitter (random = 0.5); not yet welcomed. */
export function fakeClient(opts: Partial<ClientOptions> = {}): { client: ParleyClient; server: FakeServer } {
  const server = fakeServer();
  const client = new ParleyClient({
    url: 'ws://gw.test/ws',
    token: 'tok',
    WebSocket: server.WebSocket,
    backoff: { initialMs: 100, maxMs: 10_000, factor: 2 },
    random: () => 0.5,
    ...opts,
  });
  return { client, server };
}

/** Lets pending promises and zero-delay timers run (fake timers must be installed). */
export async function settle(
  vi: { advanceTimersByTimeAsync(ms: number): Promise<unknown> },
  ms = 0,
): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** A connected client: socket created and welcomed. */
export async function openClient(
  vi: { advanceTimersByTimeAsync(ms: number): Promise<unknown> },
  opts: Partial<ClientOptions> = {},
): Promise<{ client: ParleyClient; server: FakeServer }> {
  const c = fakeClient(opts);
  await settle(vi);
  c.server.socket.welcome();
  return c;
}

/** An unsigned JWT with the given payload (the SDK never verifies; the server does). */
export function fakeJwt(payload: Record<string, unknown>): string {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}.sig`;
}
