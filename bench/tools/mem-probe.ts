/**
 * Where an idle gateway connection's memory goes: the per-user parts the gateway creates at
 * connect, measured one at a time in this process after a full GC (run with --expose-gc):
 * a NATS core subscription per user (`user.<id>`), a Set per user and two per Conn.
 * `node --expose-gc --import tsx bench/tools/mem-probe.ts <NATS_URL> [n]`
 */
import { connect } from '@nats-io/transport-node';

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

const nc = await connect({ servers: url });
let m0 = mem();
const subs = Array.from({ length: n }, (_, i) => nc.subscribe(`user.u${i}`, { callback: () => {} }));
await nc.flush();
let m1 = mem();
console.log(`nats.js core subscription (user.<id>): ${per(m0, m1)} of JS heap each`);
m0 = mem();
const sets = Array.from({ length: n }, () => [new Set<string>(), new Set<string>(), new Set<object>()]);
m1 = mem();
console.log(`three empty Sets (Conn.rooms, Conn.joining, users.get(id)): ${per(m0, m1)}`);
console.log(subs.length + sets.length > 0 ? '' : '');
await nc.close();
