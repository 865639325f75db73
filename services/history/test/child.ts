/** The history service as a child process for the kill -9 test (the test kit's spawnService). */
import { freePort, type ServiceChild, spawnService } from '@parley/testkit';
import { historyEnv, type Urls } from './harness.ts';

/** Starts a history process for `prefix`; resolves once its /readyz says ready. */
export async function spawnHistory(
  urls: Urls,
  prefix: string,
  extra: Record<string, string> = {},
): Promise<ServiceChild> {
  const port = await freePort();
  return spawnService({
    name: `history-${prefix}`,
    entry: 'services/history/src/main.ts',
    env: historyEnv(urls, prefix, { HISTORY_PORT: String(port), ...extra }),
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
}
