/**
 * Parley's publisher for the benchmarks: appends into stream CHAT with bus.chat.append (the call
 * the gateway's publish command makes), many appends in flight, so messages take the full path
 * JetStream -> RePublish chat.room.<room> -> gateway -> uWS topics.
 * BENCH_INGRESS=core publishes to chat.in.<room> with core NATS instead (still stored and
 * republished by the stream, no PubAck): it takes the client-side cost of appends out of the
 * picture, to show what the gateway's fan-out itself can do.
 */
import { loadGatewayConfig } from '@parley/gateway';
import { createLogger } from '@parley/log';
import { Subjects } from '@parley/protocol';
import { connectBus } from '@parley/runtime';
import { payload } from '../lib/body.ts';
import { serve } from '../peers/serve.ts';

const MAX_IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 2000);
const cfg = loadGatewayConfig({ NATS_URL: process.env.NATS_URL, LOG_LEVEL: 'warn' });
const bus = await connectBus(cfg, 'bench-driver', createLogger({ service: 'bench-driver', level: 'warn' }));
const CORE = process.env.BENCH_INGRESS === 'core';
let inFlight = 0;
let acked = 0;
let failed = 0;
serve(
  {
    publish(room, n) {
      const p = payload(room, n);
      if (CORE) {
        bus.publish(Subjects.chatIn(room), p.payload);
        acked++;
        return;
      }
      inFlight++;
      bus.chat.append(room, p.payload, p.msgId).then(
        () => {
          inFlight--;
          acked++;
        },
        () => {
          inFlight--;
          failed++;
        },
      );
    },
    connections: () => 0,
    capacity: () => MAX_IN_FLIGHT - inFlight,
    stats: () => ({ acked, failed, inFlight }),
  },
  0,
);
