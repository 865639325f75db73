import { MemoryBroker } from '@parley/bus';
import { SNAPSHOT_PART_CONNS } from '@parley/protocol';
import { expect, it } from 'vitest';
import { SimGateway } from '../test/sim-gateway.ts';
import { requestSnapshot } from './snapshot.ts';

it('collects a large snapshot sent in parts (one NATS message would exceed 1 MB)', async () => {
  const broker = new MemoryBroker();
  const g = new SimGateway(broker.connect(), 'big-gw', 60_000).start();
  const n = SNAPSHOT_PART_CONNS * 2 + 500;
  for (let i = 0; i < n; i++) g.connect(`user-${i}`, [`room-${i % 50}`]);
  const snap = await requestSnapshot(broker.connect(), 'big-gw', 'presence-1', 2000);
  expect(snap.gw).toBe('big-gw');
  expect(snap.conns.length).toBe(n);
  expect(new Set(snap.conns.map((c) => c.user)).size).toBe(n);
  g.kill();
});

it('rejects when the gateway does not answer in time', async () => {
  const broker = new MemoryBroker();
  await expect(requestSnapshot(broker.connect(), 'nobody', 'presence-1', 100)).rejects.toThrow(/0\/\? parts/);
});
