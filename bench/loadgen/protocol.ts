/** IPC between the runner (pool.ts) and load-generator workers (worker.ts). */

/**
 * parley: `/ws?token=<jwt for u<n>>`, then `join` r<n % rooms> after welcome; ready at `joined`
 * (or at welcome when joinRooms is false). plain: `/ws?room=r<k>`; ready at the first frame (or
 * at the 101 when readyOnUpgrade). sio: Engine.IO v4 over WebSocket, ready at the namespace `40`.
 */
export interface ConnectCmd {
  op: 'connect';
  mode: 'parley' | 'plain' | 'sio';
  port: number;
  /** Source addresses (127.0.0.x) the sockets are spread over, in contiguous blocks. */
  addrs: string[];
  first: number;
  count: number;
  rooms: number;
  concurrency: number;
  joinRooms?: boolean;
  readyOnUpgrade?: boolean;
  latency?: boolean;
}

export type ToWorker =
  | ConnectCmd
  | { op: 'reset'; latency?: boolean }
  | { op: 'stats' }
  | { op: 'close' }
  | { op: 'exit' };

export interface WorkerStats {
  frames: number;
  cpuUs: number;
  wallMs: number;
  /** Sparse latency histogram: [bucket start µs, count]. */
  hist: [number, number][];
  histOver: number;
  sockets: number;
  dropped: number;
  closes: Record<string, number>;
}

export interface Connected {
  op: 'connected';
  ok: number;
  failed: number;
  errors: string[];
  signMs: number;
  connectMs: number;
  /** Worker CPU spent connecting (signing excluded). */
  connectCpuUs: number;
}

export type FromWorker =
  | Connected
  | { op: 'count'; frames: number }
  | { op: 'reset' }
  | { op: 'stats'; stats: WorkerStats }
  | { op: 'closed' };
