/**
 * The SDK on the `ws` package's WebSocket, the option README "Benchmark" suggests for Node apps that
 * receive a lot: it must keep the same promise as on Node's global WebSocket — every acked message
 * once, in seq order, across a socket cut without a close frame (ws's terminate(): 1006).
 */
import { eventually, uniquePrefix } from '@parley/testkit';
import { afterAll, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { type GapEvent, ParleyClient } from '../src/index.ts';
import { devToken, type RunningGateway, startGateway } from './gateways.ts';

const sockets: WebSocket[] = [];
class TrackedWs extends WebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(this);
  }
}

let gateway: RunningGateway | undefined;
const clients: ParleyClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gateway?.stop();
});

it('delivers every acked message once and in order on ws, across a cut socket', async () => {
  gateway = await startGateway(inject('natsUrl'));
  const room = uniquePrefix('wsrx');
  const rx = new ParleyClient({
    url: gateway.url,
    token: () => devToken('rx'),
    WebSocket: TrackedWs,
    backoff: { initialMs: 50, maxMs: 500, factor: 2 },
  });
  const tx = new ParleyClient({ url: gateway.url, token: () => devToken('tx') });
  clients.push(rx, tx);
  const seqs: number[] = [];
  const gaps: GapEvent[] = [];
  const states: string[] = [];
  rx.on('message', (m) => seqs.push(m.seq));
  rx.on('gap', (g) => gaps.push(g));
  rx.on('state', (s) => states.push(s.state));
  await Promise.all([rx.join(room), tx.join(room)]);

  const acked: number[] = [];
  const publish = async (n: number) => {
    for (let i = 0; i < n; i++) acked.push((await tx.publish(room, `m${acked.length}`)).seq);
  };
  await publish(5);
  await eventually(() => expect(seqs).toEqual(acked));

  sockets.at(-1)?.terminate();
  await publish(5); // while rx reconnects: live or replayed after the rejoin, never twice
  await eventually(() => expect(seqs).toEqual(acked));
  expect(states).toContain('reconnecting');
  expect(sockets.length).toBeGreaterThanOrEqual(2);
  expect(gaps).toEqual([]);
});
