/**
 * The typed event map and a small emitter. Handlers run synchronously in registration order; a
 * handler that throws is reported as an `error` event and never stops delivery to the others.
 */
import type { ChatMessage, Notification, RequestId, Status } from '@parley/protocol';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  state: ConnectionState;
  /** Reconnect attempt number (1 for the first retry) when state is `reconnecting`. */
  attempt?: number;
  /** How long the SDK waits before the next attempt. */
  delayMs?: number;
  /** The close code and reason that ended the previous socket. */
  code?: number;
  reason?: string;
  /** Set when state is `closed` because of a failure rather than `close()`. */
  error?: Error;
}

/**
 * Messages of `room` with seq in (from, to] may never be delivered: recovery could not fetch them.
 * Seqs are stream-wide, so not every seq in the range belonged to the room. `epochChanged` means the
 * stream was recreated: the old cursor is meaningless and `to` is the room's last seq in the new epoch.
 */
export interface GapEvent {
  room: string;
  from: number;
  to: number;
  epochChanged?: boolean;
}

export interface ClientEvents {
  message: ChatMessage;
  gap: GapEvent;
  typing: { room: string; userId: string; on: boolean };
  'presence.join': { room: string; userId: string };
  'presence.leave': { room: string; userId: string };
  'presence.update': { room?: string; userId: string; status?: Status; name?: string };
  'presence.user': { userId: string; status: Status | 'offline' };
  notification: Notification;
  notifications: { unread: Notification[]; more?: number };
  read: { room: string; userId: string; seq: number };
  state: StateChange;
  error: Error & { requestId?: RequestId };
}

export type EventName = keyof ClientEvents;
export type Handler<K extends EventName> = (event: ClientEvents[K]) => void;

export class Emitter {
  private readonly handlers: { [K in EventName]?: Handler<K>[] } = {};

  on<K extends EventName>(event: K, handler: Handler<K>): () => void {
    const list = (this.handlers[event] ?? []) as Handler<K>[];
    this.handlers[event] = list as (typeof this.handlers)[K];
    list.push(handler);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends EventName>(event: K, value: ClientEvents[K]): void {
    const list = this.handlers[event] as Handler<K>[] | undefined;
    if (!list) return;
    for (const h of list.length === 1 ? list : [...list]) {
      try {
        h(value);
      } catch (e) {
        if (event === 'error') throw e;
        this.emit('error', e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /**
   * Events as an async iterable; values are queued between reads, so none is missed. Ends when the
   * loop breaks, or after `until(value)` returns true for a value (which is yielded first).
   */
  stream<K extends EventName>(
    event: K,
    until?: (v: ClientEvents[K]) => boolean,
  ): AsyncIterable<ClientEvents[K]> {
    const emitter = this;
    return {
      [Symbol.asyncIterator]() {
        const queue: ClientEvents[K][] = [];
        let wake: (() => void) | undefined;
        let done = false;
        const off = emitter.on(event, (v) => {
          queue.push(v);
          wake?.();
        });
        return {
          async next() {
            while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
            const value = queue.shift();
            if (value === undefined) return { done: true, value: undefined };
            if (until?.(value)) {
              done = true;
              queue.length = 0;
              off();
            }
            return { done: false, value };
          },
          async return() {
            done = true;
            off();
            return { done: true, value: undefined };
          },
        };
      },
    };
  }
}
