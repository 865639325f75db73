/**
 * Tiered recovery behind one cursor (ARCHITECTURE §2). Given a room and the seq S a client last
 * saw, returns every message with seq > S, in order, prev chained from S:
 *   1. the JetStream window, when it still holds S (then it holds everything after S);
 *   2. otherwise history (Mongo) for (S, F] where F is the first seq the window still has, and the
 *      window from F on. History writes each room in seq order, so if it has F it has all before F.
 * Returns recovered: false (nothing to replay) only when the gap exceeds the cap or the epoch changed.
 */
import type { ChatLog } from '@parley/bus';
import { encodeChatPayload, type HistoryResults, type ServiceReply, type StoredChat } from '@parley/protocol';

export type Tier = 'window' | 'history' | 'none';

export interface Recovery {
  messages: StoredChat[];
  recovered: boolean;
  tier: Tier;
}

export type HistoryAfter = (
  room: string,
  after: number,
  limit: number,
) => Promise<ServiceReply<HistoryResults['after']>>;

export class RecoveryUnavailable extends Error {}

export async function recover(
  chat: ChatLog,
  historyAfter: HistoryAfter,
  room: string,
  since: number,
  epoch: string | undefined,
  cap: number,
): Promise<Recovery> {
  if (epoch !== undefined && epoch !== chat.epoch) return { messages: [], recovered: false, tier: 'none' };
  const w = await chat.readAfter(room, since, cap + 1);
  if (w.covered) return finish(w.messages, since, cap, 'window');
  const first = w.messages[0]?.seq;
  const h = await historyAfter(room, since, cap + 1);
  if (!h.ok) throw new RecoveryUnavailable(h.message);
  const deep: StoredChat[] = [];
  let reachedWindow = first === undefined;
  for (const m of h.result.messages) {
    if (first !== undefined && m.seq >= first) {
      reachedWindow = true;
      break;
    }
    const { room: _room, seq, prev: _prev, ...payload } = m;
    deep.push({ room, seq, prev: 0, data: encodeChatPayload(payload) });
  }
  if (!reachedWindow && !h.result.more) {
    // History has not caught up to the window yet: replaying now would skip (last history, F).
    throw new RecoveryUnavailable('history is catching up; retry the join');
  }
  return finish([...deep, ...w.messages], since, cap, 'history');
}

function finish(messages: StoredChat[], since: number, cap: number, tier: Tier): Recovery {
  if (messages.length > cap) return { messages: [], recovered: false, tier };
  let prev = since;
  for (const m of messages) {
    m.prev = prev;
    prev = m.seq;
  }
  return { messages, recovered: true, tier };
}
