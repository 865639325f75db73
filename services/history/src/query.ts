/**
 * history.query: every HistoryRequest op answered with a ServiceReply. The gateway checked the
 * user's permissions before asking, so the user id in a request is trusted. Never rejects: bad input
 * is `bad_request` naming the field, a store outage `unavailable`, anything else `internal` (logged).
 */
import type { Logger } from '@parley/log';
import type { ErrorCode, HistoryRequest, HistoryResults, ServiceReply } from '@parley/protocol';
import { conversationsWithUnread, isStoreUnavailable, type Stores } from '@parley/store';
import type { HistoryConfig } from './config.ts';
import type { HistoryMetrics } from './metrics.ts';
import { BadRequest, checkInt, checkOptInt, checkRoom, checkRooms, checkUser } from './validate.ts';

type Op = HistoryRequest['op'];
type Result = HistoryResults[Op];
type Limits = Pick<HistoryConfig, 'maxPage' | 'maxAfter' | 'maxUnreadRooms' | 'maxRoomMembers'>;

const SEQ_MAX = Number.MAX_SAFE_INTEGER;
const OPS: ReadonlySet<string> = new Set<Op>(['page', 'after', 'last', 'read', 'unread', 'conversations']);

export class Queries {
  constructor(
    private readonly stores: Stores,
    private readonly limits: Limits,
    private readonly metrics: HistoryMetrics,
    private readonly log: Logger,
  ) {}

  /** Answers one request (JSON text). */
  async answer(text: string): Promise<ServiceReply<Result>> {
    const t0 = performance.now();
    let op = 'invalid';
    try {
      const req = this.parse(text);
      op = req.op;
      const result = await this.run(req);
      this.metrics.queries.inc({ op, result: 'ok' });
      this.metrics.queryMs.observe({ op }, performance.now() - t0);
      return { ok: true, result };
    } catch (err) {
      const code = this.codeOf(err, op);
      this.metrics.queries.inc({ op, result: code });
      return { ok: false, code, message: code === 'bad_request' ? (err as Error).message : messageOf(code) };
    }
  }

  /** The `page` op (also the HTTP API): validated here so both surfaces refuse the same input. */
  page(room: unknown, before: unknown, limit: unknown): Promise<HistoryResults['page']> {
    const { maxPage, maxRoomMembers } = this.limits;
    return this.stores.messages.page(
      checkRoom(room, maxRoomMembers),
      checkOptInt('before', before, 1, SEQ_MAX),
      checkInt('limit', limit, 1, maxPage),
    );
  }

  private parse(text: string): HistoryRequest {
    let req: unknown;
    try {
      req = JSON.parse(text);
    } catch {
      throw new BadRequest('request: not JSON');
    }
    if (typeof req !== 'object' || req === null || !OPS.has((req as { op?: unknown }).op as string))
      throw new BadRequest(`op: must be one of ${[...OPS].join(', ')}`);
    return req as HistoryRequest;
  }

  /** Every field is checked here: the request's static type is only what it claims to be. */
  private async run(r: HistoryRequest): Promise<Result> {
    const { messages, reads } = this.stores;
    const { maxPage, maxAfter, maxUnreadRooms, maxRoomMembers } = this.limits;
    switch (r.op) {
      case 'page':
        return this.page(r.room, r.before, r.limit);
      case 'after':
        return messages.after(
          checkRoom(r.room, maxRoomMembers),
          checkInt('after', r.after, 0, SEQ_MAX),
          checkInt('limit', r.limit, 1, maxAfter),
        );
      case 'last':
        return { seq: await messages.lastSeq(checkRoom(r.room, maxRoomMembers)) };
      case 'read': {
        const user = checkUser(r.user);
        const room = checkRoom(r.room, maxRoomMembers);
        return { seq: await reads.mark(user, room, checkInt('seq', r.seq, 0, SEQ_MAX)) };
      }
      case 'unread': {
        const user = checkUser(r.user);
        return {
          counts: await reads.unreadCounts(user, checkRooms(r.rooms, maxUnreadRooms, maxRoomMembers)),
        };
      }
      case 'conversations':
        return conversationsWithUnread(
          this.stores,
          checkUser(r.user),
          checkOptInt('before', r.before, 1, SEQ_MAX),
          checkInt('limit', r.limit, 1, maxPage),
        );
    }
  }

  private codeOf(err: unknown, op: string): ErrorCode {
    if (err instanceof BadRequest) return 'bad_request';
    if (isStoreUnavailable(err)) return 'unavailable';
    this.log.error({ err: String(err), op }, 'history query failed');
    return 'internal';
  }
}

function messageOf(code: ErrorCode): string {
  return code === 'unavailable'
    ? 'history store unavailable; retry later'
    : 'internal error in the history service';
}
