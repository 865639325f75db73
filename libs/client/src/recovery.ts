/**
 * Closing a gap the server could not replay (`joined` with recovered: false): page `history`
 * backwards from the room's last seq until the page reaches the client's cursor, then walk the
 * prev-chain forwards. Whatever the pages do not cover is reported as a gap, never skipped silently.
 */
import type { ChatMessage } from '@parley/protocol';

/** Largest page the gateway serves (MAX_PAGE in the protocol). */
const PAGE = 100;

export type PageFn = (
  room: string,
  before: number,
  limit: number,
) => Promise<{ messages: ChatMessage[]; more: boolean }>;

/**
 * Messages of `room` with seq in (from, top], ascending, at most `limit` (the newest ones when the
 * gap is larger). Stops early, returning what it has, when history fails or has nothing older.
 */
export async function fetchGap(
  page: PageFn,
  room: string,
  from: number,
  top: number,
  limit: number,
): Promise<ChatMessage[]> {
  const pages: ChatMessage[][] = [];
  let before = top + 1;
  let count = 0;
  while (count < limit) {
    let p: Awaited<ReturnType<PageFn>>;
    try {
      p = await page(room, before, Math.min(PAGE, limit - count));
    } catch {
      break;
    }
    const fresh = p.messages.filter((m) => m.seq > from && m.seq <= top);
    pages.unshift(fresh);
    count += fresh.length;
    const oldest = p.messages[0];
    if (!oldest || !p.more || oldest.seq <= from || oldest.prev <= from || oldest.seq >= before) break;
    before = oldest.seq;
  }
  return pages.flat();
}

export type ChainItem = { message: ChatMessage } | { gap: { from: number; to: number } };

/**
 * Orders what to deliver after `from`: each message once, in seq order, with a gap item wherever
 * the prev-chain breaks and at the end when the messages stop short of `top`.
 */
export function chain(messages: readonly ChatMessage[], from: number, top: number): ChainItem[] {
  const out: ChainItem[] = [];
  let last = from;
  for (const m of messages) {
    if (m.seq <= last) continue;
    if (m.prev > last) out.push({ gap: { from: last, to: m.prev } });
    out.push({ message: m });
    last = m.seq;
  }
  if (last < top) out.push({ gap: { from: last, to: top } });
  return out;
}
