/** Peer: Socket.IO 4 (WebSocket transport only), rooms + io.to(room).emit. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatFrame } from '@parley/protocol';
import { Server } from 'socket.io';
import { payload } from '../lib/body.ts';
import { serve } from './serve.ts';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
let connections = 0;
io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  void socket.join(typeof room === 'string' ? room : 'r0');
  connections++;
  socket.on('disconnect', () => {
    connections--;
  });
});
http.listen(0, '127.0.0.1', () => {
  serve(
    {
      publish(room, n) {
        const { payload: data } = payload(room, n);
        io.to(room).emit('m', chatFrame({ room, seq: n, prev: n - 1, data }));
      },
      connections: () => connections,
    },
    (http.address() as AddressInfo).port,
  );
});
