/**
 * The minimum of RFC 6455 a load generator needs: build an upgrade request, mask client frames, and
 * walk server frames (never masked) without copying them. Payloads are only looked at when the
 * caller asks (handshake frames, control frames, latency stamps); counting a frame costs a header
 * read and a skip.
 */

export const OP_TEXT = 0x1;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export function upgradeRequest(host: string, path: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
}

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** A masked client frame (FIN set). */
export function clientFrame(opcode: number, payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const ext = p.length < 126 ? 0 : p.length < 65536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + ext + 4 + p.length);
  out[0] = 0x80 | opcode;
  let o = 2;
  if (ext === 0) out[1] = 0x80 | p.length;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(p.length, 2);
    o = 4;
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(p.length), 2);
    o = 10;
  }
  MASK.copy(out, o);
  o += 4;
  for (let i = 0; i < p.length; i++) out[o + i] = (p[i] as number) ^ (MASK[i & 3] as number);
  return out;
}

export interface FrameSink {
  /** Whether the payload of the next text frame (of `len` bytes) is needed (handshake, latency, pings). */
  wantPayload(len: number): boolean;
  /** A frame; `payload` is undefined when it was skipped unseen. */
  frame(opcode: number, payload: Buffer | undefined): void;
}

/**
 * Incremental parser for one socket. Keeps only a partial header (or a wanted partial frame)
 * between chunks; skipped payload bytes are counted down, never stored.
 */
export class FrameReader {
  private skip = 0;
  private pending: Buffer | undefined;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.skip > 0) {
      if (this.skip >= buf.length) {
        this.skip -= buf.length;
        return;
      }
      buf = buf.subarray(this.skip);
      this.skip = 0;
    }
    if (this.pending) {
      buf = Buffer.concat([this.pending, buf]);
      this.pending = undefined;
    }
    let o = 0;
    const n = buf.length;
    while (o < n) {
      if (n - o < 2) break;
      const b0 = buf[o] as number;
      const b1 = buf[o + 1] as number;
      let len = b1 & 0x7f;
      let h = 2;
      if (len === 126) {
        if (n - o < 4) break;
        len = buf.readUInt16BE(o + 2);
        h = 4;
      } else if (len === 127) {
        if (n - o < 10) break;
        len = Number(buf.readBigUInt64BE(o + 2));
        h = 10;
      }
      const op = b0 & 0x0f;
      const start = o + h;
      const end = start + len;
      if (op === OP_TEXT && !this.sink.wantPayload(len)) {
        this.sink.frame(op, undefined);
        if (end > n) {
          this.skip = end - n;
          return;
        }
        o = end;
        continue;
      }
      if (end > n) break;
      this.sink.frame(op, buf.subarray(start, end));
      o = end;
    }
    if (o < n) this.pending = Buffer.from(buf.subarray(o));
  }
}

/** Reads the integer after the first '@' (the µs timestamp the publishers put in bodies); -1 if none. */
export function stampOf(p: Buffer): number {
  const at = p.indexOf(64);
  if (at < 0) return -1;
  let v = 0;
  for (let i = at + 1; i < p.length; i++) {
    const c = p[i] as number;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** Monotonic clock shared by every process on the machine (CLOCK_MONOTONIC), in µs. */
export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
