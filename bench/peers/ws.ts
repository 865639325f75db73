/** Peer: `ws`, rooms as Sets of sockets, broadcast by iterating the room. */
import type { AddressInfo } from 'node:net';
import { chatFrame } from '@parley/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { payload } from '../lib/body.ts';
import { serve } from './serve.ts';

const rooms = new Map<string, Set<WebSocket>>();
let connections = 0;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? 'r0';
  let set = rooms.get(room);
  if (!set) {
    set = new Set();
    rooms.set(room, set);
  }
  set.add(ws);
  connections++;
  ws.send('{"type":"welcome"}');
  ws.on('close', () => {
    set.delete(ws);
    connections--;
  });
});
wss.on('listening', () => {
  serve(
    {
      publish(room, n) {
        const { payload: data } = payload(room, n);
        const frame = chatFrame({ room, seq: n, prev: n - 1, data });
        for (const ws of rooms.get(room) ?? []) ws.send(frame);
      },
      connections: () => connections,
    },
    (wss.address() as AddressInfo).port,
  );
});
