/**
 * ParleyClient: the SDK's one entry point. It wires the connection (reconnects, tokens), the rooms
 * (cursors, gap recovery), the outbox (publish exactly once) and activity (typing, idle status),
 * and turns server frames into typed events.
 */
import {
  type Body,
  type ChatMessage,
  type ConversationItem,
  canonicalRoomId,
  type ServerFrame,
  type ServerFrameOf,
  type ServerFrameType,
  type Status,
} from '@parley/protocol';
import { Activity } from './activity.ts';
import { Connection, type Outgoing, type Welcome } from './connection.ts';
import { ParleyError, ServerError } from './errors.ts';
import {
  type ClientEvents,
  type ConnectionState,
  Emitter,
  type EventName,
  type Handler,
  type StateChange,
} from './events.ts';
import { type ClientOptions, type Resolved, resolveOptions } from './options.ts';
import { Outbox, type PublishAck } from './outbox.ts';
import { tokenSubject } from './reconnect.ts';
import { type Cursor, Rooms } from './rooms.ts';

export interface PublishOptions {
  /** Reuse an id to retry a publish whose outcome is unknown (e.g. after a TimeoutError). */
  clientMsgId?: string;
  timeoutMs?: number;
}

export interface Page {
  before?: number;
  limit?: number;
}

/** Server frames re-emitted to the app as events of the same name. */
const PASS_THROUGH = new Set<ServerFrameType>([
  'typing',
  'presence.join',
  'presence.leave',
  'presence.update',
  'presence.user',
  'read',
]);

export class ParleyClient {
  private readonly o: Resolved;
  private readonly events = new Emitter();
  private readonly conn: Connection;
  private readonly rooms: Rooms;
  private readonly outbox: Outbox;
  private readonly activity: Activity;
  private readonly watched = new Set<string>();
  private idSeq = 0;

  /** Starts connecting on the next microtask, so handlers attached right after construction see everything. */
  constructor(options: ClientOptions) {
    this.o = resolveOptions(options);
    this.conn = new Connection(
      this.o,
      {
        onOpen: (w) => this.onOpen(w),
        onDown: () => this.rooms.onDown(),
        onClosed: (e) => this.onClosed(e),
        onFrame: (f) => this.onFrame(f),
      },
      this.events,
    );
    this.rooms = new Rooms(this.o, this.conn, this.events, { onLive: () => this.outbox.flush() });
    this.outbox = new Outbox(this.o, this.conn, (room) => this.rooms.isLive(room));
    this.activity = new Activity(this.o, this.conn);
    queueMicrotask(() => this.conn.start());
  }

  get state(): ConnectionState {
    return this.conn.state;
  }

  /** The user id from the last `welcome`. */
  get userId(): string | undefined {
    return this.conn.welcome?.userId;
  }

  /** Publishes not yet acked (0 means every publish settled). */
  get outboxSize(): number {
    return this.outbox.size;
  }

  /** Resolves when connected; rejects if the client closes first or after `timeoutMs`. */
  ready(timeoutMs = this.o.requestTimeoutMs): Promise<void> {
    return this.conn.opened(timeoutMs);
  }

  on<K extends EventName>(event: K, handler: Handler<K>): () => void {
    return this.events.on(event, handler);
  }

  /** Connection state changes as an async iterable; it ends after `closed`. */
  states(): AsyncIterable<StateChange> {
    return this.events.stream('state', (s) => s.state === 'closed');
  }

  /** Joins (or resumes from a cursor the app kept); rejoined automatically after every reconnect. */
  join(room: string, from?: Cursor): Promise<Cursor> {
    return this.rooms.join(room, from);
  }

  leave(room: string): Promise<void> {
    this.outbox.dropRoom(room);
    return this.rooms.leave(room);
  }

  /** The last seq delivered in the room and its epoch; persist it to resume with join(room, cursor). */
  cursor(room: string): Cursor | undefined {
    return this.rooms.cursor(room);
  }

  /** Resolves once, with the ack; survives reconnects (resent with the same clientMsgId). */
  publish(room: string, body: Body, opts: PublishOptions = {}): Promise<PublishAck> {
    if (!this.rooms.has(room))
      return Promise.reject(new ServerError('not_joined', `join ${room} before publishing`));
    this.activity.markActive();
    return this.outbox.add(
      room,
      body,
      opts.clientMsgId ?? this.newId(),
      opts.timeoutMs ?? this.o.ackTimeoutMs,
    );
  }

  typing(room: string, on: boolean): void {
    this.activity.typing(room, on);
  }

  /** Status the app chose; idle detection switches `online` to `away` and back. */
  setStatus(status: Status): void {
    this.activity.setStatus(status);
  }

  get status(): Status {
    return this.activity.status;
  }

  markActive(): void {
    this.activity.markActive();
  }

  async presence(room: string): Promise<Omit<ServerFrameOf<'presence'>, 'type' | 'id'>> {
    const { users, count } = await this.ask({ type: 'presence', room }, 'presence');
    return { room, users, count };
  }

  /** Adds users to the contact list: `presence.user` events now and on every change, across reconnects. */
  async watch(users: string[]): Promise<void> {
    for (const u of users) this.watched.add(u);
    await this.ask({ type: 'watch', users }, 'ok');
  }

  async read(room: string, seq: number): Promise<void> {
    await this.ask({ type: 'read', room, seq }, 'ok');
  }

  async unread(rooms: string[]): Promise<Record<string, number>> {
    return (await this.ask({ type: 'unread', rooms }, 'unread')).counts;
  }

  async markNotificationsRead(ids: string[]): Promise<void> {
    await this.ask({ type: 'notifications.read', ids }, 'ok');
  }

  /** A page of messages before `before` (exclusive), ascending; `more` when older ones exist. */
  async history(room: string, page: Page = {}): Promise<{ messages: ChatMessage[]; more: boolean }> {
    const { messages, more } = await this.ask({ type: 'history', room, ...page }, 'history');
    return { messages, more };
  }

  async conversations(page: Page = {}): Promise<{ items: ConversationItem[]; more: boolean }> {
    const { items, more } = await this.ask({ type: 'conversations', ...page }, 'conversations');
    return { items, more };
  }

  async profile(name: string): Promise<void> {
    await this.ask({ type: 'profile', name }, 'ok');
  }

  /** The canonical id of the user-limited room of `users` and you (`dm#alice,bob`). */
  dm(users: string[], base = 'dm'): string {
    const self = this.userId ?? (typeof this.o.token === 'string' ? tokenSubject(this.o.token) : undefined);
    if (self === undefined) throw new ParleyError('dm() needs your user id: call it once connected');
    return canonicalRoomId(base, [self, ...users]);
  }

  /** Closes for good: pending publishes and requests fail with ClosedError. */
  async close(): Promise<void> {
    this.conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async ask<T extends ServerFrameType>(frame: Outgoing, type: T): Promise<ServerFrameOf<T>> {
    const reply = await this.conn.request(frame);
    if (reply.type !== type) throw new ParleyError(`unexpected ${reply.type} reply to ${frame.type}`);
    return reply as ServerFrameOf<T>;
  }

  private newId(): string {
    const c = globalThis.crypto;
    if (typeof c?.randomUUID === 'function') return c.randomUUID();
    // Non-secure browser contexts lack randomUUID; uniqueness per user and room is all the server needs.
    return `${this.o.timers.now().toString(36)}-${(this.idSeq++).toString(36)}-${this.o.random().toString(36).slice(2)}`;
  }

  private onOpen(w: Welcome): void {
    this.outbox.onOpen(w.limits);
    this.rooms.onOpen();
    this.activity.onOpen();
    if (this.watched.size > 0) this.conn.send({ type: 'watch', users: [...this.watched] });
  }

  private onClosed(error: Error): void {
    this.rooms.onClosed(error);
    this.outbox.onClosed(error);
    this.activity.onClosed();
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'message') return this.rooms.onMessage(f);
    if (PASS_THROUGH.has(f.type)) return this.events.emit(f.type as 'typing', f as ClientEvents['typing']);
    if (f.type === 'notification') return this.events.emit('notification', f.notification);
    if (f.type === 'notifications') return this.events.emit('notifications', f);
    if (f.type === 'error') this.events.emit('error', new ServerError(f.code, f.message));
  }
}
