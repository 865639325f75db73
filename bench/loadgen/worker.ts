/**
 * One load-generator process (forked by pool.ts): many raw `net.Socket` WebSocket clients, driven
 * over IPC. It counts text frames received after each socket's handshake, reads latency stamps
 * when asked, answers pings, and reports its own CPU. No `ws`: a frame costs a header read.
 */
import net from 'node:net';
import { DEV_SECRET, signToken } from '@parley/auth';
import {
  clientFrame,
  FrameReader,
  type FrameSink,
  nowUs,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  stampOf,
  upgradeRequest,
} from './frames.ts';
import type { ConnectCmd, ToWorker, WorkerStats } from './protocol.ts';

const HIST_US = 10; // histogram bucket width
const HIST_N = 200_000; // up to 2 s
const hist = new Uint32Array(HIST_N);
let histOver = 0;
let frames = 0;
let cpuMark = process.cpuUsage();
let wallMark = performance.now();
let latency = false;
const sockets: net.Socket[] = [];
const closes = new Map<string, number>();
let dropped = 0;

const PONG_EMPTY = clientFrame(OP_PONG, Buffer.alloc(0));
const SIO_CONNECT = clientFrame(OP_TEXT, '40');
const SIO_PONG = clientFrame(OP_TEXT, '3');

function send(m: unknown): void {
  process.send?.(m);
}

class Client implements FrameSink {
  state: 0 | 1 | 2 = 0; // awaiting 101, handshaking, ready
  private head = '';
  private readonly reader = new FrameReader(this);

  constructor(
    readonly sock: net.Socket,
    private readonly cmd: ConnectCmd,
    private readonly room: string,
    private readonly onReady: (c: Client) => void,
  ) {}

  data(chunk: Buffer): void {
    if (this.state !== 0) return this.reader.push(chunk);
    this.head += chunk.toString('latin1');
    const end = this.head.indexOf('\r\n\r\n');
    if (end < 0) return;
    if (!this.head.startsWith('HTTP/1.1 101')) {
      countClose(`http ${this.head.slice(9, 12)}`);
      this.sock.destroy();
      return;
    }
    const rest = Buffer.from(this.head.slice(end + 4), 'latin1');
    this.head = '';
    this.state = 1;
    if (this.cmd.mode === 'plain' && this.cmd.readyOnUpgrade) this.ready();
    if (rest.length > 0) this.reader.push(rest);
  }

  wantPayload(len: number): boolean {
    return this.state !== 2 || latency || (this.cmd.mode === 'sio' && len <= 2);
  }

  frame(op: number, p: Buffer | undefined): void {
    if (op === OP_PING) return void this.sock.write(p?.length ? clientFrame(OP_PONG, p) : PONG_EMPTY);
    if (op === OP_CLOSE) {
      countClose(p && p.length >= 2 ? String(p.readUInt16BE(0)) : 'close');
      return;
    }
    if (op !== OP_TEXT) return;
    if (this.state === 2) {
      if (this.cmd.mode === 'sio' && p && p.length === 1 && p[0] === 50)
        return void this.sock.write(SIO_PONG);
      frames++;
      if (latency && p) {
        const t = stampOf(p);
        if (t > 0) {
          const b = Math.floor((nowUs() - t) / HIST_US);
          if (b < HIST_N && b >= 0) hist[b] = (hist[b] as number) + 1;
          else histOver++;
        }
      }
      return;
    }
    const text = p ? p.toString() : '';
    switch (this.cmd.mode) {
      case 'parley':
        if (text.includes('"type":"welcome"')) {
          if (this.cmd.joinRooms)
            this.sock.write(clientFrame(OP_TEXT, `{"type":"join","room":"${this.room}","id":1}`));
          else this.ready();
        } else if (text.includes('"type":"joined"')) this.ready();
        else if (text.includes('"type":"error"')) countClose(`error ${text.slice(0, 80)}`);
        return;
      case 'sio':
        if (text.startsWith('0')) this.sock.write(SIO_CONNECT);
        else if (text.startsWith('40')) this.ready();
        return;
      default:
        this.ready();
    }
  }

  private ready(): void {
    if (this.state === 2) return;
    this.state = 2;
    this.onReady(this);
  }
}

function countClose(why: string): void {
  closes.set(why, (closes.get(why) ?? 0) + 1);
}

async function connectAll(cmd: ConnectCmd): Promise<void> {
  const t0 = performance.now();
  latency = cmd.latency ?? latency;
  const paths: string[] = [];
  for (let i = 0; i < cmd.count; i++) {
    const n = cmd.first + i;
    const room = `r${n % cmd.rooms}`;
    if (cmd.mode === 'parley') {
      const token = await signToken(DEV_SECRET, { sub: `u${n}`, rooms: ['*'] }, { ttlSec: 3600 });
      paths.push(`/ws?token=${token}|${room}`);
    } else if (cmd.mode === 'sio') paths.push(`/socket.io/?EIO=4&transport=websocket&room=${room}`);
    else paths.push(`/ws?room=${room}`);
  }
  const tSigned = performance.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  const errors: string[] = [];
  await new Promise<void>((resolve) => {
    const finish = () => {
      if (ok + failed === cmd.count) resolve();
    };
    const launch = (): void => {
      while (inFlight < cmd.concurrency && next < cmd.count) {
        const i = next++;
        inFlight++;
        const [path = '', room = ''] = (paths[i] as string).split('|');
        const addr = cmd.addrs[Math.floor((i / cmd.count) * cmd.addrs.length)] ?? '127.0.0.1';
        const sock = net.connect({ host: '127.0.0.1', port: cmd.port, localAddress: addr, noDelay: true });
        let settled = false;
        const settle = (good: boolean, why?: string) => {
          if (settled) return;
          settled = true;
          inFlight--;
          if (good) ok++;
          else {
            failed++;
            if (why && errors.length < 5) errors.push(why);
          }
          finish();
          launch();
        };
        const c = new Client(sock, cmd, room.length > 0 ? room : `r${(cmd.first + i) % cmd.rooms}`, () => {
          sockets.push(sock);
          settle(true);
        });
        sock.on('connect', () => sock.write(upgradeRequest(`127.0.0.1:${cmd.port}`, path)));
        sock.on('data', (d: Buffer) => c.data(d));
        sock.on('error', (e) => settle(false, e.message));
        sock.on('close', () => {
          if (c.state === 2) dropped++;
          settle(false, 'closed before ready');
        });
      }
    };
    launch();
    finish();
  });
  send({
    op: 'connected',
    ok,
    failed,
    errors,
    signMs: tSigned - t0,
    connectMs: performance.now() - tSigned,
    connectCpuUs: ((c) => c.user + c.system)(process.cpuUsage(cpu0)),
  });
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage(cpuMark);
  const sparse: [number, number][] = [];
  if (latency) for (let i = 0; i < HIST_N; i++) if (hist[i]) sparse.push([i * HIST_US, hist[i] as number]);
  return {
    frames,
    cpuUs: cpu.user + cpu.system,
    wallMs: performance.now() - wallMark,
    hist: sparse,
    histOver,
    sockets: sockets.length,
    dropped,
    closes: Object.fromEntries(closes),
  };
}

const ticker = setInterval(() => send({ op: 'count', frames }), 50);

process.on('message', (raw: unknown) => {
  const m = raw as ToWorker;
  switch (m.op) {
    case 'connect':
      void connectAll(m);
      return;
    case 'reset':
      frames = 0;
      hist.fill(0);
      histOver = 0;
      cpuMark = process.cpuUsage();
      wallMark = performance.now();
      if (m.latency !== undefined) latency = m.latency;
      return send({ op: 'reset' });
    case 'stats':
      return send({ op: 'stats', stats: stats() });
    case 'close':
      for (const s of sockets) {
        s.removeAllListeners('close');
        s.destroy();
      }
      sockets.length = 0;
      closes.clear();
      dropped = 0;
      return send({ op: 'closed' });
    case 'exit':
      clearInterval(ticker);
      for (const s of sockets) s.destroy();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
