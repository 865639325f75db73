/** In-process gateways on the real nats-server for the SDK's integration tests and benchmark. */
import { DEV_SECRET, signToken } from '@parley/auth';
import { Gateway, loadGatewayConfig } from '@parley/gateway';
import { createLogger } from '@parley/log';
import { connectBus, verifierFrom } from '@parley/runtime';

export interface RunningGateway {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts a gateway; `port` 0 picks a free one, a fixed port restarts a stopped gateway in its place. */
export async function startGateway(
  natsUrl: string,
  port = 0,
  env: Record<string, string> = {},
): Promise<RunningGateway> {
  const cfg = loadGatewayConfig({
    GATEWAY_PORT: String(port),
    GATEWAY_HOST: '127.0.0.1',
    NATS_URL: natsUrl,
    LOG_LEVEL: 'error',
    ...env,
  });
  const log = createLogger({ service: 'gateway', level: process.env.TEST_LOG_LEVEL ?? 'error' });
  const bus = await connectBus(cfg, 'client-test', log);
  const gateway = new Gateway({ cfg, bus, verifier: await verifierFrom(cfg), log });
  const bound = await gateway.start();
  return {
    port: bound,
    url: `ws://127.0.0.1:${bound}/ws`,
    stop: async () => {
      await gateway.stop();
      await bus.close();
    },
  };
}

/** A dev-secret token for `sub` allowed in every room. */
export function devToken(sub: string, ttlSec = 3600): Promise<string> {
  return signToken(DEV_SECRET, { sub, rooms: ['*'] }, { ttlSec });
}
