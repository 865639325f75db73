/**
 * Gateways as child processes (`node --import tsx services/gateway/src/main.ts`), for tests that
 * kill -9 or SIGTERM a gateway: the real main.ts, signals and exit code (the test kit's spawnService).
 */
import { freePort, type ServiceChild, spawnService } from '@parley/testkit';

export interface ChildGateway extends ServiceChild {
  readonly port: number;
  readonly url: string;
  readonly http: string;
  /** SIGKILL if still running; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts a gateway process on a free port; resolves once /healthz answers. */
export async function spawnGateway(natsUrl: string, env: Record<string, string> = {}): Promise<ChildGateway> {
  const port = await freePort();
  const http = `http://127.0.0.1:${port}`;
  const svc = await spawnService({
    name: `gateway-${port}`,
    entry: 'services/gateway/src/main.ts',
    env: {
      NATS_URL: natsUrl,
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    readyUrl: `${http}/healthz`,
    timeoutMs: 30_000,
  });
  return { ...svc, port, url: `ws://127.0.0.1:${port}/ws`, http, stop: svc.kill };
}
