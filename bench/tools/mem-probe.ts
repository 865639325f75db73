/**
 * Where an idle gateway connection's memory goes: the per-user parts the gateway creates at
 * connect, measured one at a time in this process after a full GC (run with --expose-gc): a
 * nats.js core subscription per user (`user.<id>`, what the gateway used to hold), the same
 * interest through the bus's SubjectRefs (what it holds now), and an empty Set (what Conn.rooms,
 * Conn.joining and the per-user Set cost before they became lazy or arrays).
 * `node --expose-gc --import tsx bench/tools/mem-probe.ts <NATS_URL> [n]`
 */

import { connect } from '@nats-io/transport-node';
import { createNatsBus } from '@parley/bus';

const url = process.argv[2] ?? 'nats://127.0.0.1:4222';
const n = Number(process.argv[3] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const mem = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const per = (a: number, b: number) => `${Math.round((b - a) / n)} B`;
const keep: unknown[] = [];

const nc = await connect({ servers: url });
let m0 = mem();
for (let i = 0; i < n; i++) keep.push(nc.subscribe(`user.a${i}`, { callback: () => {} }));
await nc.flush();
console.log(`nats.js core subscription per user: ${per(m0, mem())} of JS heap each`);

const bus = await createNatsBus({ servers: url, name: 'mem-probe' });
const refs = bus.subjectRefs<string>(() => {});
m0 = mem();
for (let i = 0; i < n; i++) refs.acquire(`user.b${i}`, `b${i}`);
await bus.flush();
console.log(`SubjectRefs subject per user: ${per(m0, mem())} (subject and key strings included)`);

m0 = mem();
for (let i = 0; i < n; i++) keep.push(new Set<string>());
console.log(`one empty Set: ${per(m0, mem())}`);
console.log(keep.length > 0 && refs.size > 0 ? '' : '');
await Promise.all([nc.close(), bus.close()]);
