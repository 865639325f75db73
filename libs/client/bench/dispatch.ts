/**
 * `npm run bench:dispatch -w @parley/client`: the SDK's own CPU per received message, with no
 * network and no WebSocket implementation: the same `message` frames (the gateway's bytes) are
 * handed to (a) a bare JSON.parse + type check, the floor every client pays, and (b) a ParleyClient
 * on a fake socket (its onmessage, decode, gap check, dedupe, cursor and `message` event). The
 * difference is what the SDK adds per message. PASSES passes over FRAMES fresh frames each, the two
 * paths alternating which goes first; medians over passes, the SDK's share as the median of the
 * per-pass differences (neighbouring passes share the machine's load). Options (env): FRAMES=20000
 * PASSES=60. Prints a Markdown table and writes bench/results/dispatch.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type ChatMessage, chatFrame, encodeChatPayload } from '@parley/protocol';
import { ParleyClient } from '../src/index.ts';
import { fakeServer } from '../src/testing/fake-server.ts';

const FRAMES = Number(process.env.FRAMES ?? 20_000);
const PASSES = Number(process.env.PASSES ?? 60);
const ROOM = 'r0';
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

/** Frames with seq from `first`, each continuing the previous one's chain. */
function frames(first: number): string[] {
  return Array.from({ length: FRAMES }, (_, i) => {
    const seq = first + i;
    const data = encodeChatPayload({
      msgId: `bench:${ROOM}:${seq}`,
      from: 'bench',
      body: `@${seq} `.padEnd(100, 'x'),
      ts: Date.now(),
      clientMsgId: String(seq),
    });
    // Flat, like a string decoded from a socket (a concatenation is a rope until first read).
    return Buffer.from(chatFrame({ room: ROOM, seq, prev: seq - 1, data })).toString();
  });
}

/** CPU µs to run `deliver` over every frame. */
function cpuUs(list: string[], deliver: (data: string) => void): number {
  const t = process.cpuUsage();
  for (const data of list) deliver(data);
  const d = process.cpuUsage(t);
  return d.user + d.system;
}

let parsed = 0;
const bare = (data: string) => {
  const f = JSON.parse(data) as { type: string };
  if (f.type === 'message') parsed++;
};

const server = fakeServer();
const client = new ParleyClient({ url: 'ws://bench/ws', token: 'bench', WebSocket: server.WebSocket });
let delivered = 0;
client.on('message', (_m: ChatMessage) => delivered++);
await new Promise((r) => setTimeout(r, 0));
server.socket.welcome();
const joined = client.join(ROOM);
server.socket.reply('join', { type: 'joined', room: ROOM, seq: 0, epoch: 'e1', recovered: true });
await joined;
const socket = server.socket;
const sdk = (data: string) => socket.onmessage?.({ data });

const bareUs: number[] = [];
const sdkUs: number[] = [];
let next = 1;
for (let p = 0; p < PASSES; p++) {
  const list = frames(next);
  next += FRAMES;
  // Alternating which goes first, so neither always pays for the other's garbage.
  if (p % 2) bareUs.push(cpuUs(list, bare) / FRAMES);
  sdkUs.push(cpuUs(list, sdk) / FRAMES);
  if (!(p % 2)) bareUs.push(cpuUs(list, bare) / FRAMES);
}
if (delivered !== FRAMES * PASSES || parsed !== FRAMES * PASSES)
  throw new Error(`lost frames: SDK delivered ${delivered}, bare parsed ${parsed} of ${FRAMES * PASSES}`);
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const b = median(bareUs);
const s = median(sdkUs);
const own = median(sdkUs.map((x, i) => x - (bareUs[i] as number)));
console.log(
  `| path | µs CPU/msg (median of ${PASSES} × ${FRAMES.toLocaleString('en-US')}) |\n|---|---|\n` +
    `| JSON.parse + type check | ${b.toFixed(3)} |\n| ParleyClient on a fake socket | ${s.toFixed(3)} |\n` +
    `| SDK's own share (median of per-pass differences) | ${own.toFixed(3)} |`,
);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(
  `${RESULTS}dispatch.json`,
  `${JSON.stringify(
    {
      at: new Date().toISOString(),
      frames: FRAMES,
      passes: PASSES,
      node: process.version,
      bareUs: round3(b),
      sdkUs: round3(s),
      ownUs: round3(own),
      loadavg: loadavg().map(round3),
    },
    null,
    2,
  )}\n`,
);
await client.close();
