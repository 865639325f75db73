/**
 * Fetches one gateway's snapshot in parts: subscribe to a reply subject of our own, ask the gateway
 * to publish its parts there, and collect them until every part of one view (one `seq`) arrived.
 * Parts keep each NATS message far below the server's 1 MB payload limit, so a gateway with 19k
 * connections can be rebuilt as well as a small one.
 */
import type { Bus } from '@parley/bus';
import { type PresenceSnapshot, type PresenceSnapshotRequest, Subjects } from '@parley/protocol';
import { decodeSnapshot } from './validate.ts';

let requests = 0;

export async function requestSnapshot(
  bus: Bus,
  gw: string,
  instanceId: string,
  timeoutMs: number,
): Promise<PresenceSnapshot> {
  const replyTo = Subjects.presenceSnapshotReply(instanceId, ++requests);
  const parts = new Map<number, PresenceSnapshot>();
  let expected = 0;
  let seq: number | undefined;
  let settle: { resolve: (s: PresenceSnapshot) => void; reject: (e: Error) => void } | undefined;
  const done = new Promise<PresenceSnapshot>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const sub = bus.subscribe(replyTo, (msg) => {
    const snap = decodeSnapshot(msg.string());
    if (!snap.ok) return settle?.reject(new Error(`bad snapshot part from ${gw}: ${snap.problem}`));
    const { part = 0, parts: total = 1 } = snap.value;
    if (snap.value.gw !== gw) return settle?.reject(new Error(`snapshot of ${snap.value.gw}, not ${gw}`));
    if (parts.size > 0 && snap.value.seq !== seq) parts.clear(); // a newer view started: keep only it
    seq = snap.value.seq;
    expected = total;
    parts.set(part, snap.value);
    if (parts.size === expected) settle?.resolve(merge(gw, seq, expected, parts));
  });
  const timer = setTimeout(
    () =>
      settle?.reject(
        new Error(`snapshot of ${gw}: ${parts.size}/${expected || '?'} parts in ${timeoutMs} ms`),
      ),
    timeoutMs,
  );
  try {
    await bus.flush();
    const req: PresenceSnapshotRequest = { replyTo };
    bus.publish(Subjects.presenceSnapshotOf(gw), JSON.stringify(req));
    return await done;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

function merge(
  gw: string,
  seq: number | undefined,
  n: number,
  parts: Map<number, PresenceSnapshot>,
): PresenceSnapshot {
  const conns = [];
  for (let i = 0; i < n; i++) conns.push(...(parts.get(i)?.conns ?? []));
  return seq === undefined ? { gw, conns } : { gw, seq, conns };
}
