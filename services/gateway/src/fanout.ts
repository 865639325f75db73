/**
 * Interest-based fan-out. A room's NATS subscriptions exist only while the gateway has a local
 * member (ref-counted, with a linger so a quick leave/rejoin does not churn subscriptions); each
 * message is serialised once and handed to uWS topics, which batch sends per socket.
 *
 * Joins in flight register a `Joiner`: every chat message that arrives while the join reads its
 * replay is also buffered there, so the join can splice replay, buffer and live traffic with no gap
 * and no duplicate (see commands/join.ts).
 */

import type * as uWS from 'uWebSockets.js';
import type { Bus, SubjectRefs, Subscription } from '@parley/bus';
import {
  chatFrame,
  ephEnvelope,
  openEphEnvelope,
  type StoredChat,
  Subjects,
  type UserEvent,
} from '@parley/protocol';
import type { GatewayMetrics } from './metrics.ts';

export const topics = {
  chat: (room: string) => `r/${room}`,
  eph: (room: string) => `e/${room}`,
  watch: (userId: string) => `w/${userId}`,
};

/** The part of a connection the fan-out needs for contact watches. */
export interface Watcher {
  ws: uWS.WebSocket<unknown>;
  closed: boolean;
  watching?: readonly string[];
}

export interface Joiner {
  buffer: StoredChat[];
}

interface Channel {
  refs: number;
  roomJson: string;
  ready: Promise<void>;
  subs: Subscription[];
  linger?: NodeJS.Timeout;
  joiners: Set<Joiner>;
}

export interface FanoutOptions {
  app: uWS.TemplatedApp;
  bus: Bus;
  gatewayId: string;
  lingerMs: number;
  metrics: GatewayMetrics;
  /**
   * Called for every event on `user.<id>` (frames for the user's connections, disconnect, name
   * change). Frames are not a uWS topic per user: a topic costs ~0.5 KiB of RSS per user, and a
   * user has a handful of connections at most.
   */
  onUserEvent: (userId: string, event: UserEvent) => void;
  /** Called after each chat frame handed to uWS, with its length: lets the gateway check send buffers by volume. */
  onFanout?: (chars: number) => void;
}

export class Fanout {
  private readonly rooms = new Map<string, Channel>();
  /**
   * `user.<id>` of every user with a local connection (a reference per connection), and
   * `presence.user.<id>` of every watched user (a reference per watching connection): one interest
   * each on the server, held in SubjectRefs (~0.2 KiB per user, where a subscription with its
   * own closure took ~1.5 KiB: most of an idle connection's cost).
   */
  private readonly users: SubjectRefs<string>;
  private readonly watched: SubjectRefs<string>;

  constructor(private readonly o: FanoutOptions) {
    this.users = o.bus.subjectRefs((userId, msg) => this.deliverUser(userId, msg.string()));
    this.watched = o.bus.subjectRefs((userId, msg) => o.app.publish(topics.watch(userId), msg.data, false));
  }

  /** Takes a reference on the room; resolves once NATS has confirmed its subscriptions. */
  acquire(room: string): Promise<void> {
    let ch = this.rooms.get(room);
    if (ch) {
      ch.refs++;
      if (ch.linger) {
        clearTimeout(ch.linger);
        ch.linger = undefined;
      }
      return ch.ready;
    }
    const created: Channel = {
      refs: 1,
      roomJson: JSON.stringify(room),
      ready: Promise.resolve(),
      subs: [],
      joiners: new Set(),
    };
    ch = created;
    this.rooms.set(room, created);
    created.subs.push(this.o.bus.chat.subscribeRoom(room, (m) => this.deliver(room, created, m)));
    created.subs.push(
      this.o.bus.subscribe(Subjects.chatEph(room), (msg) => this.deliverEph(room, msg.string())),
    );
    this.o.metrics.natsSubscriptions.inc(2);
    created.ready = this.o.bus.flush();
    created.ready.catch(() => this.drop(room, created));
    return created.ready;
  }

  release(room: string): void {
    const ch = this.rooms.get(room);
    if (!ch || --ch.refs > 0) return;
    ch.linger = setTimeout(() => this.drop(room, ch), this.o.lingerMs);
    ch.linger.unref?.();
  }

  startJoin(room: string): Joiner {
    const j: Joiner = { buffer: [] };
    this.rooms.get(room)?.joiners.add(j);
    return j;
  }

  endJoin(room: string, j: Joiner): void {
    this.rooms.get(room)?.joiners.delete(j);
  }

  roomJson(room: string): string {
    return this.rooms.get(room)?.roomJson ?? JSON.stringify(room);
  }

  /** Sends an ephemeral frame to the room's members here (except `except`) and on other gateways. */
  publishEphemeral(room: string, frame: string, except?: uWS.WebSocket<unknown>): void {
    if (except) except.publish(topics.eph(room), frame, false);
    else this.o.app.publish(topics.eph(room), frame, false);
    this.o.bus.publish(Subjects.chatEph(room), ephEnvelope(this.o.gatewayId, frame));
  }

  acquireUser(userId: string): void {
    if (this.users.acquire(Subjects.user(userId), userId)) this.o.metrics.natsSubscriptions.inc();
  }

  releaseUser(userId: string): void {
    if (this.users.release(Subjects.user(userId))) this.o.metrics.natsSubscriptions.dec();
  }

  /** Replaces the connection's watch list; one NATS subscription per watched user per gateway. */
  watch(w: Watcher, users: readonly string[]): void {
    const next = new Set(users);
    const prev = new Set(w.watching ?? []);
    for (const u of prev) if (!next.has(u)) this.unwatchOne(w, u);
    for (const u of next) {
      if (prev.has(u)) continue;
      if (this.watched.acquire(Subjects.presenceUser(u), u)) this.o.metrics.natsSubscriptions.inc();
      if (!w.closed) w.ws.subscribe(topics.watch(u));
    }
    w.watching = [...next];
  }

  unwatchAll(w: Watcher): void {
    for (const u of w.watching ?? []) this.unwatchOne(w, u);
    w.watching = [];
  }

  private unwatchOne(w: Watcher, u: string): void {
    if (!w.closed) w.ws.unsubscribe(topics.watch(u));
    if (this.watched.release(Subjects.presenceUser(u))) this.o.metrics.natsSubscriptions.dec();
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  private deliver(room: string, ch: Channel, m: StoredChat): void {
    const topic = topics.chat(room);
    const frame = chatFrame(m, ch.roomJson);
    this.o.app.publish(topic, frame, false);
    this.o.metrics.deliveries.inc(this.o.app.numSubscribers(topic));
    for (const j of ch.joiners) j.buffer.push(m);
    this.o.onFanout?.(frame.length);
  }

  private deliverEph(room: string, text: string): void {
    const { origin, frame } = openEphEnvelope(text);
    if (origin === this.o.gatewayId) return;
    this.o.app.publish(topics.eph(room), frame, false);
  }

  private deliverUser(userId: string, text: string): void {
    let ev: UserEvent;
    try {
      ev = JSON.parse(text) as UserEvent;
    } catch {
      return;
    }
    this.o.onUserEvent(userId, ev);
  }

  private drop(room: string, ch: Channel): void {
    if (this.rooms.get(room) !== ch || ch.refs > 0) return;
    for (const s of ch.subs) s.unsubscribe();
    this.o.metrics.natsSubscriptions.dec(ch.subs.length);
    this.rooms.delete(room);
  }

  close(): void {
    for (const [room, ch] of this.rooms) {
      ch.refs = 0;
      if (ch.linger) clearTimeout(ch.linger);
      this.drop(room, ch);
    }
    this.users.clear();
    this.watched.clear();
  }
}
