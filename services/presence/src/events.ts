/**
 * Publishes the events the tracker reports: room events as `ephEnvelope('', frame)` on
 * `chat.eph.<room>` (every gateway forwards the frame to the room's local members), user events
 * as the bare frame JSON on `presence.user.<id>` (gateways forward it to watchers).
 *
 * Large rooms: in a room with more than `largeRoomMembers` users (before or after the change),
 * join/leave/update events are not sent at all. The protocol has no count-only frame, and one
 * event per member change is exactly what multiplies traffic in a reconnect storm (N joins x N
 * members); clients of such rooms ask `presence` for the list and count when they need them.
 * Watchers (presence.user) are unaffected: they are per user, not per room.
 */
import type { Bus } from '@parley/bus';
import { ephEnvelope, Subjects } from '@parley/protocol';
import type { PresenceMetrics } from './metrics.ts';
import type { PresenceEvent } from './tracker.ts';

export class EventPublisher {
  constructor(
    private readonly bus: Bus,
    private readonly largeRoomMembers: number,
    private readonly metrics: Pick<PresenceMetrics, 'events' | 'coalesced'>,
  ) {}

  /** True when the event is not sent because its room is large. */
  coalesced(e: PresenceEvent): boolean {
    if (e.room === undefined) return false;
    const peak = (e.roomUsers ?? 0) + (e.frame.type === 'presence.leave' ? 1 : 0);
    return peak > this.largeRoomMembers;
  }

  publish(events: readonly PresenceEvent[]): void {
    for (const e of events) {
      if (this.coalesced(e)) {
        this.metrics.coalesced.inc();
        continue;
      }
      const frame = JSON.stringify(e.frame);
      if (e.room === undefined) this.bus.publish(Subjects.presenceUser(e.user), frame);
      else this.bus.publish(Subjects.chatEph(e.room), ephEnvelope('', frame));
      this.metrics.events.inc({ type: e.frame.type });
    }
  }
}
