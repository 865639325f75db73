/**
 * Joined rooms and their cursors. Guarantees to the app, per room: each message at most once, in
 * seq order, and either every message after the cursor or a `gap` event naming what is missing.
 * - The cursor {seq, epoch} survives reconnects; every joined room is rejoined with `since`/`epoch`.
 * - A live message whose prev is not the cursor starts a rejoin with `since` (the server allows a
 *   join while joined); while that join is in flight, only messages continuing the chain are taken
 *   (the replay brings the rest), and seq <= cursor is a duplicate and dropped.
 * - `recovered: false` pages history (recovery.ts) while live messages wait in a buffer.
 */
import type { ChatMessage, ServerFrame, ServerFrameOf } from '@parley/protocol';
import { Bucket } from './bucket.ts';
import type { Connection, Reply } from './connection.ts';
import { DisconnectedError, ParleyError, ServerError } from './errors.ts';
import type { Emitter } from './events.ts';
import type { Resolved, TimerHandle } from './options.ts';
import { backoffDelay } from './reconnect.ts';
import { chain, fetchGap } from './recovery.ts';

export interface Cursor {
  seq: number;
  epoch: string;
}

/** Joins sent per second after a reconnect: below the gateway's default request limit (20/s). */
const JOINS_PER_SECOND = 10;

interface Room {
  readonly name: string;
  seq: number | undefined;
  epoch: string | undefined;
  phase: 'joining' | 'live' | 'filling';
  /** Bumped by every join sent; replies and fills of an older join are ignored. */
  gen: number;
  inFlight: boolean;
  failures: number;
  buffer: ChatMessage[];
  waiters: { resolve(c: Cursor): void; reject(e: Error): void }[];
  retry: TimerHandle | undefined;
}

export interface RoomHooks {
  /** The room is live on the current connection: publishes to it may be sent. */
  onLive(room: string): void;
}

export class Rooms {
  private readonly rooms = new Map<string, Room>();
  private readonly joins: Bucket;

  constructor(
    private readonly o: Resolved,
    private readonly conn: Connection,
    private readonly events: Emitter,
    private readonly hooks: RoomHooks,
  ) {
    this.joins = new Bucket(JOINS_PER_SECOND, JOINS_PER_SECOND, o.timers.now);
  }

  /** Resolves with the cursor once the room is live; `from` resumes from a cursor the app kept. */
  join(name: string, from?: Cursor): Promise<Cursor> {
    const existing = this.rooms.get(name);
    if (existing?.phase === 'live') return Promise.resolve(cursorOf(existing));
    const r = existing ?? this.add(name, from);
    return new Promise((resolve, reject) => {
      r.waiters.push({ resolve, reject });
      if (!existing) this.sendJoin(r);
    });
  }

  /** Forgets the room (and its cursor); tells the server when connected. */
  async leave(name: string): Promise<void> {
    const r = this.rooms.get(name);
    if (!r) return;
    this.rooms.delete(name);
    this.o.timers.clearTimeout(r.retry);
    for (const w of r.waiters) w.reject(new ParleyError(`left ${name} before it was joined`));
    if (this.conn.state === 'open') await this.conn.request({ type: 'leave', room: name });
  }

  has(name: string): boolean {
    return this.rooms.has(name);
  }

  isLive(name: string): boolean {
    return this.rooms.get(name)?.phase === 'live';
  }

  cursor(name: string): Cursor | undefined {
    const r = this.rooms.get(name);
    return r?.seq === undefined || r.epoch === undefined ? undefined : cursorOf(r);
  }

  onOpen(): void {
    this.joins.reset(JOINS_PER_SECOND, JOINS_PER_SECOND);
    for (const r of this.rooms.values()) this.sendJoin(r);
  }

  /** The socket is gone: every room must be joined again; buffered live messages will be replayed. */
  onDown(): void {
    for (const r of this.rooms.values()) {
      r.phase = 'joining';
      r.inFlight = false;
      r.buffer = [];
      this.o.timers.clearTimeout(r.retry);
    }
  }

  onClosed(error: Error): void {
    for (const r of this.rooms.values()) {
      this.o.timers.clearTimeout(r.retry);
      for (const w of r.waiters) w.reject(error);
      r.waiters = [];
    }
  }

  /** The hot path: one map lookup and two comparisons per message. */
  onMessage(m: ChatMessage): void {
    const r = this.rooms.get(m.room);
    if (r === undefined || r.seq === undefined) return;
    if (r.phase === 'filling') {
      r.buffer.push(m);
      return;
    }
    if (m.seq <= r.seq) return;
    if (m.prev !== r.seq) {
      if (r.phase === 'live') this.rejoin(r);
      return;
    }
    r.seq = m.seq;
    this.events.emit('message', m);
  }

  private add(name: string, from?: Cursor): Room {
    const r: Room = {
      name,
      seq: from?.seq,
      epoch: from?.epoch,
      phase: 'joining',
      gen: 0,
      inFlight: false,
      failures: 0,
      buffer: [],
      waiters: [],
      retry: undefined,
    };
    this.rooms.set(name, r);
    return r;
  }

  private rejoin(r: Room): void {
    r.phase = 'joining';
    this.sendJoin(r);
  }

  /** Sends one join for the room, paced; a join already in flight already covers the need. */
  private sendJoin(r: Room): void {
    if (r.inFlight || this.conn.state !== 'open' || this.rooms.get(r.name) !== r) return;
    this.o.timers.clearTimeout(r.retry);
    const wait = this.joins.take();
    if (wait > 0) {
      r.retry = this.o.timers.setTimeout(() => this.sendJoin(r), wait);
      return;
    }
    const gen = ++r.gen;
    const since = r.seq === undefined ? {} : { since: r.seq, ...(r.epoch ? { epoch: r.epoch } : {}) };
    const id = this.conn.call({ type: 'join', room: r.name, ...since }, (reply) =>
      this.onJoinReply(r, gen, reply),
    );
    r.inFlight = id !== undefined;
  }

  private onJoinReply(r: Room, gen: number, reply: Reply): void {
    if (this.rooms.get(r.name) !== r || r.gen !== gen) return;
    r.inFlight = false;
    if (reply instanceof Error) return this.onJoinError(r, reply);
    if (reply.type !== 'joined')
      return this.onJoinError(r, new ParleyError(`unexpected ${reply.type} reply to join`));
    r.failures = 0;
    this.onJoined(r, reply);
  }

  private onJoined(r: Room, j: ServerFrameOf<'joined'>): void {
    const had = r.seq;
    const epochChanged = r.epoch !== undefined && r.epoch !== j.epoch;
    r.epoch = j.epoch;
    if (had === undefined || epochChanged) {
      if (had !== undefined)
        this.events.emit('gap', { room: r.name, from: 0, to: j.seq, epochChanged: true });
      r.seq = j.seq;
      return this.goLive(r);
    }
    if (j.recovered === false) return void this.fill(r, had, j.seq);
    this.goLive(r);
    // A recovered join replays through its seq; falling short means something was lost on the way.
    if (had < j.seq) this.rejoin(r);
  }

  private onJoinError(r: Room, e: Error): void {
    if (e instanceof DisconnectedError) return; // onOpen rejoins
    if (e instanceof ServerError && !e.retryable) {
      this.rooms.delete(r.name);
      for (const w of r.waiters) w.reject(e);
      r.waiters = [];
      return this.events.emit('error', e);
    }
    const delay = backoffDelay(r.failures++, this.o.backoff, this.o.random);
    r.retry = this.o.timers.setTimeout(() => this.sendJoin(r), delay);
  }

  private goLive(r: Room): void {
    r.phase = 'live';
    const waiters = r.waiters;
    r.waiters = [];
    for (const w of waiters) w.resolve(cursorOf(r));
    this.hooks.onLive(r.name);
  }

  /** Pages history for (from, top], delivers it with gap events, then the live messages held meanwhile. */
  private async fill(r: Room, from: number, top: number): Promise<void> {
    r.phase = 'filling';
    r.buffer = [];
    const gen = r.gen;
    const messages = await fetchGap(
      (room, before, limit) => this.page(room, before, limit),
      r.name,
      from,
      top,
      this.o.recoverLimit,
    );
    // A reconnect or leave meanwhile: the next join recovers from the unchanged cursor.
    if (this.rooms.get(r.name) !== r || r.gen !== gen || r.phase !== 'filling') return;
    for (const item of chain(messages, from, top)) {
      if ('gap' in item) this.events.emit('gap', { room: r.name, ...item.gap });
      else {
        r.seq = item.message.seq;
        this.events.emit('message', item.message);
      }
    }
    r.seq = top;
    const held = r.buffer;
    r.buffer = [];
    this.goLive(r);
    for (const m of held) this.onMessage(m);
  }

  private async page(room: string, before: number, limit: number): Promise<ServerFrameOf<'history'>> {
    const f: ServerFrame = await this.conn.request({ type: 'history', room, before, limit });
    if (f.type !== 'history') throw new ParleyError(`unexpected ${f.type} reply to history`);
    return f;
  }
}

function cursorOf(r: Room): Cursor {
  return { seq: r.seq ?? 0, epoch: r.epoch ?? '' };
}
