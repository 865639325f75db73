/**
 * Live delivery: a notification frame published to `user.<id>` reaches every socket of that user on
 * every gateway (the gateways forward `{kind:'frame'}` events as they are). Core NATS, so at most
 * once: the inbox row, written first, is what makes a notification durable; live is the fast path.
 */
import type { Bus } from '@parley/bus';
import { type Notification, type ServerFrame, Subjects, type UserEvent } from '@parley/protocol';
import type { StoredNotification } from '@parley/store';
import type { NotifyMetrics } from './metrics.ts';

export function publishNotification(bus: Bus, metrics: NotifyMetrics, user: string, n: Notification): void {
  const frame: ServerFrame = { type: 'notification', notification: n };
  const ev: UserEvent = { kind: 'frame', frame: JSON.stringify(frame) };
  bus.publish(Subjects.user(user), JSON.stringify(ev));
  metrics.deliveredLive.inc();
}

/** The wire form of a stored row (drops user, key and expiry). */
export function wireOf(row: StoredNotification): Notification {
  const n: Notification = {
    id: row.id,
    title: row.title,
    body: row.body,
    createdAt: row.createdAt,
    read: row.read,
  };
  if (row.data !== undefined) n.data = row.data;
  return n;
}
