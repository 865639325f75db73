/**
 * JetStream ingress alone: bus.chat.append into `rooms` rooms with `inFlight` appends outstanding,
 * for `seconds`; prints appends/s and the driver's CPU. Shows whether fan-out across many rooms is
 * limited by the stream rather than by the gateway.
 * `tsx bench/tools/append-probe.ts <NATS_URL> [inFlight] [rooms] [seconds]`
 */
import { loadGatewayConfig } from '@parley/gateway';
import { createLogger } from '@parley/log';
import { connectBus } from '@parley/runtime';
import { payload } from '../lib/body.ts';

const [url = 'nats://127.0.0.1:4222', inFlightArg = '2000', roomsArg = '1000', secsArg = '5'] =
  process.argv.slice(2);
const maxInFlight = Number(inFlightArg);
const rooms = Number(roomsArg);
const cfg = loadGatewayConfig({ NATS_URL: url, LOG_LEVEL: 'warn' });
const bus = await connectBus(cfg, 'append-probe', createLogger({ service: 'append-probe', level: 'warn' }));
let inFlight = 0;
let acked = 0;
let n = 0;
const end = performance.now() + Number(secsArg) * 1000;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise<void>((resolve) => {
  const pump = (): void => {
    while (inFlight < maxInFlight && performance.now() < end) {
      const room = `probe${n % rooms}`;
      const p = payload(room, n++);
      inFlight++;
      bus.chat.append(room, p.payload, p.msgId).then(done, done);
    }
    if (inFlight === 0 && performance.now() >= end) resolve();
  };
  const done = (): void => {
    inFlight--;
    acked++;
    pump();
  };
  pump();
});
const secs = (performance.now() - t0) / 1000;
const c = process.cpuUsage(cpu0);
console.log(
  `${Math.round(acked / secs)} appends/s with ${maxInFlight} in flight over ${rooms} rooms; driver CPU ${((c.user + c.system) / 1e6 / secs).toFixed(2)} cores`,
);
await bus.close();
