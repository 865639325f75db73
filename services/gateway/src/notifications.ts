/**
 * The `notifications` frame after welcome. Connections that open in the same event-loop tick share
 * one `unreadMany` request to notify (a reconnect storm of thousands of sockets costs a handful of
 * requests, not one each). If notify is down the frame is skipped: the user still gets live ones.
 */
import { MAX_LIST, type NotifyResults, Subjects } from '@parley/protocol';
import type { Conn } from './connection.ts';
import { ask, type Ctx } from './context.ts';

/** How many unread notifications the frame carries; `more` counts the rest. */
export const UNREAD_ON_CONNECT = 20;

export class UnreadOnConnect {
  private waiting = new Map<string, Conn[]>();
  private scheduled = false;

  constructor(private readonly ctx: Ctx) {}

  request(conn: Conn): void {
    const list = this.waiting.get(conn.userId);
    if (list) list.push(conn);
    else this.waiting.set(conn.userId, [conn]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = new Map();
    const users = [...batch.keys()];
    for (let i = 0; i < users.length; i += MAX_LIST) void this.fetch(users.slice(i, i + MAX_LIST), batch);
  }

  private async fetch(users: string[], batch: Map<string, Conn[]>): Promise<void> {
    const r = await ask<NotifyResults['unreadMany']>(this.ctx, Subjects.notifyQuery, {
      op: 'unreadMany',
      users,
      limit: UNREAD_ON_CONNECT,
    });
    if (!r.ok)
      return this.ctx.log.debug({ users: users.length, reason: r.message }, 'unread notifications not sent');
    for (const user of users) {
      const page = r.result.byUser[user];
      if (!page) continue;
      const frame = JSON.stringify({ type: 'notifications', unread: page.unread, more: page.more });
      for (const conn of batch.get(user) ?? []) conn.sendText(frame);
    }
  }
}
