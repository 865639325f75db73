import { MemoryBroker } from '@parley/bus';
import { type PresenceDeltaBatch, PresenceDigest, type SnapshotConn, Subjects } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { PresenceReporter } from './presence.ts';

const tick = () => new Promise((r) => setImmediate(r));

function rig() {
  const broker = new MemoryBroker();
  const conns: SnapshotConn[] = [];
  const batches: PresenceDeltaBatch[] = [];
  const tap = broker.connect();
  tap.subscribe(Subjects.presenceDelta, (m) => batches.push(JSON.parse(m.string())));
  const reporter = new PresenceReporter(broker.connect(), 'gw1', 60_000, {
    snapshot: () => conns,
    count: () => conns.length,
  });
  return { broker, conns, batches, reporter, tap };
}

describe('PresenceReporter', () => {
  it('batches the deltas of one tick into one numbered batch', async () => {
    const { batches, reporter } = rig();
    reporter.delta({ k: 'connect', conn: 'gw1-1', user: 'ann', status: 'online' });
    reporter.delta({ k: 'join', conn: 'gw1-1', room: 'r' });
    await tick();
    reporter.delta({ k: 'leave', conn: 'gw1-1', room: 'r' });
    await tick();
    await tick();
    expect(batches.map((b) => [b.seq, b.deltas.length])).toEqual([
      [1, 2],
      [2, 1],
    ]);
  });

  it('heartbeats carry the last seq and a digest of the reported state, equal to one rebuilt from a snapshot', () => {
    const { conns, reporter } = rig();
    const empty = reporter.heartbeatMessage().digest;
    reporter.delta({ k: 'connect', conn: 'gw1-1', user: 'ann', status: 'away', name: 'Ann' });
    reporter.delta({ k: 'join', conn: 'gw1-1', room: 'r1' });
    reporter.delta({ k: 'join', conn: 'gw1-1', room: 'r2' });
    const hb = reporter.heartbeatMessage();
    expect(hb.seq).toBe(1);
    conns.push({ conn: 'gw1-1', user: 'ann', status: 'away', name: 'Ann', rooms: ['r2', 'r1'] });
    const rebuilt = new PresenceDigest();
    rebuilt.rebase(conns);
    expect(hb.digest).toBe(rebuilt.digest());
    // any change moves the digest; undoing it brings it back (order-independent)
    reporter.delta({ k: 'status', conn: 'gw1-1', status: 'dnd' });
    expect(reporter.heartbeatMessage().digest).not.toBe(hb.digest);
    reporter.delta({ k: 'status', conn: 'gw1-1', status: 'away' });
    expect(reporter.heartbeatMessage().digest).toBe(hb.digest);
    reporter.delta({ k: 'leave', conn: 'gw1-1', room: 'r1' });
    reporter.delta({ k: 'leave', conn: 'gw1-1', room: 'r2' });
    reporter.delta({ k: 'disconnect', conn: 'gw1-1' });
    expect(reporter.heartbeatMessage().digest).toBe(empty);
  });

  it('answers a snapshot request on its own subject after flushing, and re-bases its digest on it', async () => {
    const { broker, conns, batches, reporter } = rig();
    reporter.start();
    reporter.delta({ k: 'connect', conn: 'gw1-1', user: 'ann', status: 'online' });
    // the gateway's real list disagrees with what was reported (a bug, say): the snapshot wins
    conns.push({ conn: 'gw1-1', user: 'ann', status: 'online', rooms: ['r'] });
    const reply = await broker.connect().request(Subjects.presenceSnapshotOf('gw1'), '', { timeoutMs: 500 });
    expect(JSON.parse(reply.string())).toEqual({ gw: 'gw1', seq: 1, conns });
    expect(batches).toHaveLength(1);
    const rebuilt = new PresenceDigest();
    rebuilt.rebase(conns);
    expect(reporter.heartbeatMessage().digest).toBe(rebuilt.digest());
    reporter.stop();
  });
});
