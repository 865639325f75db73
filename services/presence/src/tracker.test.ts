import {
  connTerm,
  fnv1a,
  formatDigest,
  memberTerm,
  type PresenceDelta,
  type SnapshotConn,
  statusCode,
} from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { type PresenceEvent, PresenceTracker } from './tracker.ts';

/** Applies deltas of one gateway and returns the frames of the events, as JSON-ish objects. */
function run(t: PresenceTracker, gw: string, deltas: PresenceDelta[]): PresenceEvent['frame'][] {
  const out: PresenceEvent[] = [];
  for (const d of deltas) t.apply(gw, d, out);
  return out.map((e) => e.frame);
}

const connect = (
  conn: string,
  user: string,
  status: 'online' | 'away' | 'dnd' = 'online',
): PresenceDelta => ({
  k: 'connect',
  conn,
  user,
  status,
});
/** Events of one kind to several rooms come in no particular room order. */
const byRoom = (frames: PresenceEvent['frame'][]) =>
  [...frames].sort((a, b) =>
    ('room' in a ? (a.room ?? '') : '').localeCompare('room' in b ? (b.room ?? '') : ''),
  );
const join = (conn: string, room: string): PresenceDelta => ({ k: 'join', conn, room });
const leave = (conn: string, room: string): PresenceDelta => ({ k: 'leave', conn, room });

describe('PresenceTracker', () => {
  it('emits join/leave only when the user (not the connection) enters or leaves a room', () => {
    const t = new PresenceTracker();
    expect(run(t, 'g1', [connect('g1-1', 'ann'), join('g1-1', 'r')])).toEqual([
      { type: 'presence.user', userId: 'ann', status: 'online' },
      { type: 'presence.join', room: 'r', userId: 'ann' },
    ]);
    // second device on another gateway: no event at all
    expect(run(t, 'g2', [connect('g2-1', 'ann'), join('g2-1', 'r')])).toEqual([]);
    expect(t.room('r', 10)).toEqual({ users: [{ userId: 'ann', status: 'online' }], count: 1 });
    expect(run(t, 'g1', [leave('g1-1', 'r'), { k: 'disconnect', conn: 'g1-1' }])).toEqual([]);
    expect(t.user('ann')).toEqual({ userId: 'ann', status: 'online', connections: 1, rooms: ['r'] });
    expect(run(t, 'g2', [{ k: 'disconnect', conn: 'g2-1' }])).toEqual([
      { type: 'presence.leave', room: 'r', userId: 'ann' },
      { type: 'presence.user', userId: 'ann', status: 'offline' },
    ]);
    expect(t.stats).toEqual({ connections: 0, onlineUsers: 0, rooms: 0 });
    expect(t.room('r', 10)).toEqual({ users: [], count: 0 });
  });

  it('aggregates status as dnd > online > away and reports changes to rooms and watchers', () => {
    const t = new PresenceTracker();
    run(t, 'g1', [connect('a', 'bo', 'away'), join('a', 'r1'), join('a', 'r2'), connect('b', 'bo', 'away')]);
    expect(t.status('bo')).toBe('away');
    expect(byRoom(run(t, 'g1', [{ k: 'status', conn: 'b', status: 'online' }]))).toEqual([
      { type: 'presence.user', userId: 'bo', status: 'online' },
      { type: 'presence.update', room: 'r1', userId: 'bo', status: 'online' },
      { type: 'presence.update', room: 'r2', userId: 'bo', status: 'online' },
    ]);
    // away on another device does not hide an online one
    expect(run(t, 'g1', [{ k: 'status', conn: 'a', status: 'away' }])).toEqual([]);
    expect(run(t, 'g1', [{ k: 'status', conn: 'a', status: 'dnd' }]).map((f) => f.type)).toEqual([
      'presence.user',
      'presence.update',
      'presence.update',
    ]);
    expect(t.status('bo')).toBe('dnd');
    // the dnd device closing falls back to the other device's status
    expect(byRoom(run(t, 'g1', [{ k: 'disconnect', conn: 'a' }]))).toEqual([
      { type: 'presence.user', userId: 'bo', status: 'online' },
      { type: 'presence.leave', room: 'r1', userId: 'bo' },
      { type: 'presence.leave', room: 'r2', userId: 'bo' },
    ]);
  });

  it('sends name changes to rooms and watchers; a connect does not override a known name', () => {
    const t = new PresenceTracker();
    run(t, 'g1', [{ k: 'connect', conn: 'a', user: 'cy', status: 'online', name: 'Cy' }, join('a', 'r')]);
    expect(run(t, 'g1', [{ k: 'name', conn: 'a', name: 'Cyrus' }])).toEqual([
      { type: 'presence.update', userId: 'cy', name: 'Cyrus' },
      { type: 'presence.update', room: 'r', userId: 'cy', name: 'Cyrus' },
    ]);
    run(t, 'g1', [{ k: 'connect', conn: 'b', user: 'cy', status: 'online', name: 'Cy' }]);
    expect(t.room('r', 10).users).toEqual([{ userId: 'cy', status: 'online', name: 'Cyrus' }]);
  });

  it('counts distinct users per room and caps the listed users', () => {
    const t = new PresenceTracker();
    for (let i = 0; i < 5; i++) run(t, 'g', [connect(`g-${i + 1}`, `u${i % 3}`), join(`g-${i + 1}`, 'big')]);
    const r = t.room('big', 2);
    expect(r.count).toBe(3);
    expect(r.users).toHaveLength(2);
  });

  it('reports anomalies without changing state', () => {
    const t = new PresenceTracker();
    const out: PresenceEvent[] = [];
    expect(t.apply('g', join('nope', 'r'), out)).toBe(false);
    expect(t.apply('g', connect('c', 'u'), out)).toBe(true);
    expect(t.apply('g', join('c', 'r'), out)).toBe(true);
    expect(t.apply('g', join('c', 'r'), out)).toBe(false);
    expect(t.apply('g', leave('c', 'other'), out)).toBe(false);
    expect(t.apply('g', connect('c', 'u'), out)).toBe(false);
    expect(t.user('u')).toEqual({ userId: 'u', status: 'online', connections: 1, rooms: [] });
  });

  it('keeps connections apart per gateway even with equal ids', () => {
    const t = new PresenceTracker();
    run(t, 'g1', [connect('x-1', 'a'), join('x-1', 'r')]);
    run(t, 'g2', [connect('x-1', 'b'), join('x-1', 'r')]);
    expect(t.room('r', 10).count).toBe(2);
    const out: PresenceEvent[] = [];
    t.dropGateway('g1', out);
    expect(out.map((e) => e.frame)).toEqual([
      { type: 'presence.leave', room: 'r', userId: 'a' },
      { type: 'presence.user', userId: 'a', status: 'offline' },
    ]);
    expect(out[0]!.roomUsers).toBe(1);
    expect(t.room('r', 10)).toEqual({ users: [{ userId: 'b', status: 'online' }], count: 1 });
  });

  it('computes the same digest as a direct sum of the protocol terms', () => {
    const t = new PresenceTracker();
    run(t, 'gw', [
      connect('gw-1', 'ann'),
      join('gw-1', 'r1'),
      join('gw-1', 'r2'),
      { k: 'connect', conn: 'custom', user: 'bo', status: 'away', name: 'Bo' },
      join('custom', 'r1'),
      { k: 'status', conn: 'gw-1', status: 'dnd' },
      leave('gw-1', 'r2'),
    ]);
    const h = fnv1a;
    const sum =
      connTerm(h('gw-1'), h('ann'), statusCode('dnd'), 0) +
      memberTerm(h('gw-1'), h('r1')) +
      connTerm(h('custom'), h('bo'), statusCode('away'), h('Bo')) +
      memberTerm(h('custom'), h('r1'));
    expect(t.digest('gw')).toBe(formatDigest(2, 2, sum >>> 0));
    run(t, 'gw', [
      { k: 'disconnect', conn: 'gw-1' },
      { k: 'disconnect', conn: 'custom' },
    ]);
    expect(t.digest('gw')).toBe(formatDigest(0, 0, 0));
  });

  it('rebuilds from a snapshot diff with the same state and digest as from the deltas', () => {
    const live = new PresenceTracker();
    const deltas: PresenceDelta[] = [
      connect('g-1', 'ann'),
      join('g-1', 'r1'),
      { k: 'connect', conn: 'g-2', user: 'bo', status: 'dnd', name: 'Bo' },
      join('g-2', 'r1'),
      join('g-2', 'r2'),
    ];
    run(live, 'g', deltas);
    const snapshot: SnapshotConn[] = [
      { conn: 'g-1', user: 'ann', status: 'online', rooms: ['r1'] },
      { conn: 'g-2', user: 'bo', status: 'dnd', name: 'Bo', rooms: ['r1', 'r2'] },
    ];
    const rebuilt = new PresenceTracker();
    run(rebuilt, 'g', rebuilt.diff('g', snapshot));
    expect(rebuilt.digest('g')).toBe(live.digest('g'));
    expect(rebuilt.room('r1', 10)).toEqual(live.room('r1', 10));
    // an up-to-date state diffs to nothing, so a resync of an in-sync gateway emits nothing
    expect(live.diff('g', snapshot)).toEqual([]);
  });

  it('reconciles a drifted gateway by diff: only the real differences become events', () => {
    const t = new PresenceTracker();
    run(t, 'g', [connect('g-1', 'ann'), join('g-1', 'r1'), connect('g-2', 'bo'), join('g-2', 'r1')]);
    const snapshot: SnapshotConn[] = [
      { conn: 'g-1', user: 'ann', status: 'away', rooms: ['r2'] },
      { conn: 'g-3', user: 'cy', status: 'online', rooms: [] },
    ];
    expect(run(t, 'g', t.diff('g', snapshot))).toEqual([
      { type: 'presence.user', userId: 'ann', status: 'away' },
      { type: 'presence.update', room: 'r1', userId: 'ann', status: 'away' },
      { type: 'presence.leave', room: 'r1', userId: 'ann' },
      { type: 'presence.join', room: 'r2', userId: 'ann' },
      { type: 'presence.user', userId: 'cy', status: 'online' },
      { type: 'presence.leave', room: 'r1', userId: 'bo' },
      { type: 'presence.user', userId: 'bo', status: 'offline' },
    ]);
    expect(t.diff('g', snapshot)).toEqual([]);
  });

  it('reuses freed slots: churn does not grow the state', () => {
    const t = new PresenceTracker();
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i <= 2000; i++)
        run(t, 'g', [connect(`g-${i.toString(36)}`, `u${i}`), join(`g-${i.toString(36)}`, `r${i % 50}`)]);
      expect(t.stats).toEqual({ connections: 2000, onlineUsers: 2000, rooms: 50 });
      const out: PresenceEvent[] = [];
      t.dropGateway('g', out);
      expect(out.filter((e) => e.frame.type === 'presence.leave')).toHaveLength(2000);
      expect(t.stats).toEqual({ connections: 0, onlineUsers: 0, rooms: 0 });
    }
  });
});
