/** Starts gateways in-process for tests, on real NATS (natsUrl) or on a shared memory broker. */
import { DEV_SECRET, signToken, type TokenClaims } from '@parley/auth';
import type { Bus, MemoryBroker } from '@parley/bus';
import { createLogger } from '@parley/log';
import { connectBus, verifierFrom } from '@parley/runtime';
import { loadGatewayConfig } from '../src/config.ts';
import { Gateway } from '../src/gateway.ts';

export interface TestGateway {
  gateway: Gateway;
  bus: Bus;
  port: number;
  url: string;
  http: string;
  stop(): Promise<void>;
}

export async function startGateway(
  opts: { natsUrl?: string; broker?: MemoryBroker; env?: Record<string, string> } = {},
): Promise<TestGateway> {
  const cfg = loadGatewayConfig({
    GATEWAY_PORT: '0',
    GATEWAY_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...(opts.natsUrl ? { NATS_URL: opts.natsUrl } : {}),
    ...opts.env,
  });
  const logger = createLogger({ service: 'gateway', level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  const bus = opts.broker ? opts.broker.connect() : await connectBus(cfg, 'gateway-test', logger);
  const gateway = new Gateway({ cfg, bus, verifier: await verifierFrom(cfg), log: logger });
  const port = await gateway.start();
  return {
    gateway,
    bus,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    http: `http://127.0.0.1:${port}`,
    stop: async () => {
      await gateway.stop();
      await bus.close();
    },
  };
}

/** A dev-secret token; `rooms` defaults to everything. */
export function token(sub: string, claims: Partial<TokenClaims> = {}, ttlSec = 3600): Promise<string> {
  return signToken(DEV_SECRET, { sub, rooms: ['*'], ...claims }, { ttlSec });
}
