/**
 * The receiving process of the SDK benchmark (forked by sdk.ts, one per row): one client per token
 * of one kind in one room, counting `message` frames. Every kind decodes every frame with
 * JSON.parse and looks at its type, so the rows differ only in what sits between the socket and
 * that decode:
 *   sdk        ParleyClient on Node's global WebSocket (undici), what an app gets by default;
 *   sdk-ws     ParleyClient with `WebSocket` from the `ws` package passed in;
 *   ws         the `ws` package, `on('message')` (its native event, no MessageEvent objects);
 *   websocket  Node's global WebSocket with `onmessage`, no SDK.
 * It reports its running count every COUNT_EVERY_MS (the runner turns that into the driver's
 * credit), and on `measure` its messages, CPU (process.cpuUsage) and event-loop utilisation over
 * the window: ELU near 1 means the receiver, not the pipeline, was the bottleneck.
 */
import { performance } from 'node:perf_hooks';
import { ParleyClient } from '@parley/client';
import WebSocket from 'ws';
import type { FromReceiver, ToReceiver } from './protocol.ts';

const COUNT_EVERY_MS = 20;
let received = 0;
/** Closes, reconnects and SDK gap events: any of them means the row measured something else. */
let drops = 0;

const send = (m: FromReceiver) => {
  // A failed write means the runner disconnected (a count timer can fire before 'disconnect').
  if (process.connected) process.send?.(m, undefined, {}, (e) => e && process.exit(0));
};

/** One raw socket: join after welcome, then count messages; resolves at `joined`. */
function raw(kind: 'ws' | 'websocket', url: string, room: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onFrame = (text: string) => {
      const f = JSON.parse(text) as { type: string };
      if (f.type === 'message') received++;
      else if (f.type === 'welcome') socket.send(JSON.stringify({ type: 'join', id: 1, room }));
      else if (f.type === 'joined') resolve();
      else if (f.type === 'error') reject(new Error(`join refused: ${text}`));
    };
    const target = `${url}?token=${token}`;
    let socket: { send(s: string): void };
    if (kind === 'ws') {
      const s = new WebSocket(target);
      s.on('message', (data) => onFrame(data.toString()));
      s.on('close', () => drops++);
      s.on('error', reject);
      socket = s;
    } else {
      const s = new globalThis.WebSocket(target);
      s.onmessage = (ev) => onFrame(ev.data as string);
      s.onclose = () => drops++;
      s.onerror = () => reject(new Error(`WebSocket error on ${url}`));
      socket = s;
    }
  });
}

async function sdk(kind: 'sdk' | 'sdk-ws', url: string, room: string, token: string): Promise<void> {
  const client = new ParleyClient({
    url,
    token,
    ...(kind === 'sdk-ws' ? { WebSocket } : {}),
  });
  client.on('message', () => received++);
  client.on('gap', () => drops++);
  client.on('state', (s) => {
    if (s.state === 'reconnecting') drops++;
  });
  await client.ready();
  await client.join(room);
}

async function start(m: Extract<ToReceiver, { op: 'start' }>): Promise<void> {
  const { kind, url, room } = m;
  await Promise.all(
    m.tokens.map((t) =>
      kind === 'sdk' || kind === 'sdk-ws' ? sdk(kind, url, room, t) : raw(kind, url, room, t),
    ),
  );
  setInterval(() => send({ op: 'count', n: received }), COUNT_EVERY_MS);
  send({ op: 'ready' });
}

function measure(ms: number): void {
  const n0 = received;
  const d0 = drops;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  setTimeout(() => {
    const cpu = process.cpuUsage(cpu0);
    send({
      op: 'result',
      messages: received - n0,
      wallMs: performance.now() - t0,
      cpuUs: cpu.user + cpu.system,
      elu: performance.eventLoopUtilization(elu0).utilization,
      drops: drops - d0,
    });
  }, ms);
}

process.on('message', (msg: unknown) => {
  const m = msg as ToReceiver;
  if (m.op === 'start')
    start(m).catch((e: unknown) => send({ op: 'failed', error: String((e as Error).stack ?? e) }));
  else measure(m.ms);
});
process.on('disconnect', () => process.exit(0));
