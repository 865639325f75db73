/**
 * Per-connection state, kept small: an idle authenticated connection should cost well under
 * 3 KiB of gateway memory including uWS's own. Buckets are created lazily on first use.
 */

import type * as uWS from 'uWebSockets.js';
import type { Identity } from '@parley/auth';
import type { RequestId, ServerFrame, Status } from '@parley/protocol';
import { Strikes, TokenBucket } from './limits.ts';

/** What uWS keeps per socket (its user data). */
export interface SocketData {
  conn?: Conn;
  /** Set when the upgrade's token was refused: open() closes with 4001 and this reason. */
  authError?: string;
  identity?: Identity;
}

export type Socket = uWS.WebSocket<SocketData>;

let nextConn = 0;
const NO_ROOMS: ReadonlySet<string> = new Set();

export class Conn {
  readonly id: string;
  // Created on first use: an empty Set costs ~160 B, and most idle connections never join.
  private joined?: Set<string>;
  private pending?: Set<string>;
  status: Status = 'online';
  name: string | undefined;
  closed = false;
  /** Ephemeral topics are unsubscribed while the socket is congested, and resubscribed on drain. */
  congested = false;
  /** Users this connection watches (contacts), see Fanout.watch. */
  watching?: readonly string[];
  private publishBucket?: TokenBucket;
  private typingBucket?: TokenBucket;
  private requestBucket?: TokenBucket;
  private strikes?: Strikes;

  constructor(
    readonly ws: Socket,
    public identity: Identity,
    gatewayId: string,
    /** Counts frames sent to this socket directly (fan-out through topics is counted as deliveries). */
    private readonly counted: { inc(): void },
  ) {
    this.id = `${gatewayId}-${(++nextConn).toString(36)}`;
    this.name = identity.name;
  }

  get userId(): string {
    return this.identity.userId;
  }

  get rooms(): ReadonlySet<string> {
    return this.joined ?? NO_ROOMS;
  }

  /** Rooms whose join is in flight: a second join or a leave waits for it. */
  get joining(): ReadonlySet<string> {
    return this.pending ?? NO_ROOMS;
  }

  addRoom(room: string): void {
    this.joined ??= new Set();
    this.joined.add(room);
  }

  removeRoom(room: string): void {
    this.joined?.delete(room);
  }

  startJoining(room: string): void {
    this.pending ??= new Set();
    this.pending.add(room);
  }

  endJoining(room: string): void {
    this.pending?.delete(room);
  }

  /** Sends a frame; false when the socket is gone. */
  send(frame: ServerFrame): boolean {
    return this.sendText(JSON.stringify(frame));
  }

  sendText(text: string): boolean {
    if (this.closed) return false;
    this.ws.send(text, false);
    this.counted.inc();
    return true;
  }

  reply(id: RequestId | undefined, frame: ServerFrame): void {
    this.send(id === undefined ? frame : ({ ...frame, id } as ServerFrame));
  }

  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }

  takePublish(perSecond: number, burst: number): boolean {
    this.publishBucket ??= new TokenBucket(perSecond, burst);
    return this.publishBucket.take();
  }

  takeTyping(perSecond: number): boolean {
    this.typingBucket ??= new TokenBucket(perSecond, perSecond);
    return this.typingBucket.take();
  }

  takeRequest(perSecond: number): boolean {
    this.requestBucket ??= new TokenBucket(perSecond, perSecond * 2);
    return this.requestBucket.take();
  }

  /** Records a limit violation; true when the connection should be closed for sustained abuse. */
  strike(max: number, windowMs: number): boolean {
    this.strikes ??= new Strikes(max, windowMs);
    return this.strikes.strike();
  }
}
