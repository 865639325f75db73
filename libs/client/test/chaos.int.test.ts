/**
 * The SDK's promise on the real path: 20 clients in 5 rooms publish through 2 gateways on a real
 * nats-server while a chaos loop restarts gateways and drops client sockets. Afterwards every
 * client has seen, per room, exactly the acked messages, in seq order, once; every publish settled
 * with an ack; every outbox is empty. The gaps stay inside the JetStream window (no history service).
 */
import { uniquePrefix } from '@parley/testkit';
import { afterAll, expect, inject, it } from 'vitest';
import { type GapEvent, ParleyClient } from '../src/index.ts';
import { devToken, type RunningGateway, startGateway } from './gateways.ts';

const CHAOS_MS = Number(process.env.CLIENT_CHAOS_MS ?? 60_000);
const CLIENTS = 20;
const ROOMS = 5;
const PUBLISH_EVERY_MS = 500;
const CHAOS_EVERY_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/** Node's global WebSocket, with every socket kept so the chaos loop can cut them. */
const sockets = new Set<WebSocket>();
class TrackedWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    sockets.add(this);
    this.addEventListener('close', () => sockets.delete(this));
  }
}

const gateways: (RunningGateway | undefined)[] = [];
const clients: ParleyClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(gateways.map((g) => g?.stop()));
});

/**
 * Gateways restart on their port, so it must not be an ephemeral one: a client reconnecting to a
 * dead port in the ephemeral range can connect to itself (TCP self-connect) and hold the port.
 */
async function startOutsideEphemeral(natsUrl: string): Promise<RunningGateway> {
  for (let tries = 0; ; tries++) {
    try {
      return await startGateway(natsUrl, 20_000 + Math.floor(Math.random() * 10_000));
    } catch (e) {
      if (tries >= 20) throw e;
    }
  }
}

/** The stopped gateway's port can take a moment to be free again. */
async function restart(natsUrl: string, port: number): Promise<RunningGateway> {
  for (let tries = 0; ; tries++) {
    try {
      return await startGateway(natsUrl, port);
    } catch (e) {
      if (tries >= 40) throw e;
      await sleep(250);
    }
  }
}

it(
  `delivers every acked message exactly once, in order, through ${CHAOS_MS / 1000} s of chaos`,
  async () => {
    const natsUrl = inject('natsUrl');
    gateways.push(await startOutsideEphemeral(natsUrl), await startOutsideEphemeral(natsUrl));
    const ports = gateways.map((g) => g?.port ?? 0);
    const rooms = Array.from({ length: ROOMS }, (_, i) => uniquePrefix(`chaos${i}`));
    const seen = new Map<ParleyClient, Map<string, number[]>>();
    const gaps: GapEvent[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const user = `u${i}`;
      const client = new ParleyClient({
        url: `ws://127.0.0.1:${ports[i % 2]}/ws`,
        token: () => devToken(user),
        WebSocket: TrackedWebSocket,
        backoff: { initialMs: 100, maxMs: 2000, factor: 2 },
        ackTimeoutMs: CHAOS_MS + 60_000,
      });
      const lists = new Map(rooms.map((r) => [r, [] as number[]]));
      client.on('message', (m) => lists.get(m.room)?.push(m.seq));
      client.on('gap', (g) => gaps.push(g));
      seen.set(client, lists);
      clients.push(client);
    }
    await Promise.all(clients.flatMap((c) => rooms.map((r) => c.join(r))));

    const acked = new Map(rooms.map((r) => [r, new Set<number>()]));
    const publishes: Promise<unknown>[] = [];
    let running = true;
    const publishers = clients.map(async (c, i) => {
      for (let n = 0; running; n++) {
        const room = pick(rooms);
        const p = c.publish(room, `${i}-${n}`).then((a) => acked.get(room)?.add(a.seq));
        p.catch(() => {}); // counted below through allSettled; no unhandled rejection if the test fails first
        publishes.push(p);
        await sleep(PUBLISH_EVERY_MS * (0.5 + Math.random()));
      }
    });
    let restarts = 0;
    let drops = 0;
    const deadline = Date.now() + CHAOS_MS;
    for (let round = 0; Date.now() < deadline; round++) {
      await sleep(CHAOS_EVERY_MS);
      if (round % 2 === 0) {
        const g = round % 4 === 0 ? 0 : 1;
        await gateways[g]?.stop();
        gateways[g] = undefined;
        await sleep(500 + Math.random() * 1000);
        gateways[g] = await restart(natsUrl, ports[g] ?? 0);
        restarts++;
      } else {
        for (const ws of [...sockets].filter(() => Math.random() < 0.3)) {
          ws.close(3000, 'chaos');
          drops++;
        }
      }
    }
    running = false;
    await Promise.all(publishers);
    const results = await Promise.allSettled(publishes);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toEqual([]);
    expect(clients.map((c) => c.outboxSize)).toEqual(clients.map(() => 0));

    const total = [...acked.values()].reduce((n, s) => n + s.size, 0);
    expect(total).toBe(publishes.length);
    const expected = new Map([...acked].map(([r, s]) => [r, [...s].sort((a, b) => a - b)]));
    const complete = () =>
      clients.every((c) =>
        rooms.every((r) => (seen.get(c)?.get(r)?.length ?? 0) >= (expected.get(r)?.length ?? 0)),
      );
    for (let waited = 0; !complete() && waited < 30_000; waited += 100) await sleep(100);
    for (const c of clients) for (const r of rooms) expect(seen.get(c)?.get(r)).toEqual(expected.get(r));
    expect(gaps).toEqual([]);
    expect(restarts).toBeGreaterThan(0);
    expect(drops).toBeGreaterThan(0);
    console.log(`chaos: ${total} messages acked, ${restarts} gateway restarts, ${drops} sockets dropped`);
  },
  CHAOS_MS + 120_000,
);
