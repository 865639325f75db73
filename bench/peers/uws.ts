/** Peer: raw uWebSockets.js, topics + app.publish from a timer loop (outside uWS callbacks). */
import * as uWS from 'uWebSockets.js';
import { chatFrame } from '@parley/protocol';
import { payload } from '../lib/body.ts';
import { serve } from './serve.ts';

const app = uWS.App();
let connections = 0;
app.ws<{ room: string }>('/ws', {
  compression: 0,
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 64 * 1024 * 1024,
  closeOnBackpressureLimit: false,
  idleTimeout: 120,
  upgrade: (res, req, context) => {
    res.upgrade(
      { room: req.getQuery('room') ?? 'r0' },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    connections++;
    ws.subscribe(ws.getUserData().room);
    ws.send('{"type":"welcome"}', false);
  },
  close: () => {
    connections--;
  },
});
const roomJson = new Map<string, string>();
app.listen('127.0.0.1', 0, (s) => {
  if (!s) throw new Error('uws peer: cannot listen');
  serve(
    {
      publish(room, n) {
        let rj = roomJson.get(room);
        if (!rj) {
          rj = JSON.stringify(room);
          roomJson.set(room, rj);
        }
        const { payload: data } = payload(room, n);
        app.publish(room, chatFrame({ room, seq: n, prev: n - 1, data }, rj), false);
      },
      connections: () => connections,
    },
    uWS.us_socket_local_port(s),
  );
});
