/**
 * A protocol-aware WebSocket client for tests: records every frame, answers `request()` by id, and
 * waits for frames or the close with timeouts that say what was awaited.
 */
import type { ClientFrame, ServerFrame } from '@parley/protocol';
import WebSocket from 'ws';

export interface WsClient {
  readonly ws: WebSocket;
  /** Every frame received, in order (welcome first). */
  readonly frames: ServerFrame[];
  readonly welcome: Extract<ServerFrame, { type: 'welcome' }>;
  send(frame: ClientFrame | Record<string, unknown> | string): void;
  /** Sends a frame with a fresh id and resolves with the reply carrying that id (any type, error included). */
  request(frame: Record<string, unknown>, timeoutMs?: number): Promise<ServerFrame>;
  /** Resolves with the first frame (already received or future) matching `pred`. */
  waitFor<T extends ServerFrame = ServerFrame>(
    pred: (f: ServerFrame) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<T>;
  /** Frames of a type, in order. */
  ofType<T extends ServerFrame['type']>(type: T): Extract<ServerFrame, { type: T }>[];
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

let ids = 0;

export interface WsClientOptions {
  token?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Opens a socket; resolves after `welcome`, or rejects with the close code/reason if refused. */
export async function wsClient(url: string, opts: WsClientOptions = {}): Promise<WsClient> {
  const full = opts.token
    ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(opts.token)}`
    : url;
  const ws = new WebSocket(full, { headers: opts.headers ?? {} });
  const frames: ServerFrame[] = [];
  const waiters = new Set<{ pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as ServerFrame;
    frames.push(f);
    for (const w of waiters) {
      if (w.pred(f)) {
        waiters.delete(w);
        w.resolve(f);
      }
    }
  });
  const waitFor = <T extends ServerFrame>(
    pred: (f: ServerFrame) => boolean,
    timeoutMs = 5000,
    what = 'frame',
  ) => {
    const seen = frames.find(pred);
    if (seen) return Promise.resolve(seen as T);
    return new Promise<T>((resolve, reject) => {
      const w = {
        pred,
        resolve: (f: ServerFrame) => {
          clearTimeout(t);
          resolve(f as T);
        },
      };
      const t = setTimeout(() => {
        waiters.delete(w);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last frames: ${JSON.stringify(frames.slice(-3))}`,
          ),
        );
      }, timeoutMs);
      waiters.add(w);
    });
  };
  const welcome = await Promise.race([
    waitFor<Extract<ServerFrame, { type: 'welcome' }>>(
      (f) => f.type === 'welcome',
      opts.timeoutMs ?? 5000,
      'welcome',
    ),
    closed.then(({ code, reason }) => {
      throw Object.assign(new Error(`closed before welcome: ${code} ${reason}`), { code, reason });
    }),
  ]);
  const client: WsClient = {
    ws,
    frames,
    welcome,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    request: (frame, timeoutMs) => {
      const id = `r${++ids}`;
      ws.send(JSON.stringify({ ...frame, id }));
      return waitFor(
        (f) => (f as { id?: unknown }).id === id,
        timeoutMs,
        `reply to ${String(frame.type)} ${id}`,
      );
    },
    waitFor,
    ofType: <T extends ServerFrame['type']>(type: T) =>
      frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type),
    closed,
    close: async () => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      await closed;
    },
  };
  return client;
}

/** Opens a socket that the server is expected to refuse; resolves with the close code and reason. */
export async function expectClose(
  url: string,
  opts: WsClientOptions = {},
): Promise<{ code: number; reason: string }> {
  try {
    const c = await wsClient(url, opts);
    await c.close();
    throw new Error('expected the server to close the socket, but it sent welcome');
  } catch (e) {
    const { code, reason } = e as { code?: number; reason?: string };
    if (code === undefined) throw e;
    return { code, reason: reason ?? '' };
  }
}
