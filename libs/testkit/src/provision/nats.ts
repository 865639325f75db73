import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../util.ts';
import { goEnv, type Log, once, ProvisionError, run, tryRun } from './run.ts';

// Newest 2.11.x the Go proxy has (a version-prefix query), else newest 2.10.x: both have the
// JetStream features Parley uses; 2.12 is avoided until the client is tested against it.
const QUERIES = ['v2.11', 'v2.10'];
const MODULE = 'github.com/nats-io/nats-server/v2';

/** Path of a nats-server >= 2.10 binary: cached build, else `go install`, else one on PATH. */
export const ensureNatsServer = once(async (log: Log = () => {}): Promise<string> => {
  const bin = join(cacheDir('bin'), 'nats-server');
  if (existsSync(bin) && supported(await tryRun(bin, ['--version']))) return bin;
  const failures: string[] = [];
  for (const query of QUERIES) {
    log(`nats: go install ${MODULE}@${query} (about a minute on 2 cores)`);
    const gobin = cacheDir('bin', `.tmp-nats-${process.pid}`);
    try {
      await run('go', ['install', `${MODULE}@${query}`], { env: { ...goEnv(), GOBIN: gobin } });
      renameSync(join(gobin, 'nats-server'), bin); // atomic: concurrent runs never see half a binary
      log(`nats: installed ${(await tryRun(bin, ['--version']))?.trim()} at ${bin}`);
      return bin;
    } catch (err) {
      failures.push((err as Error).message);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  }
  const onPath = await tryRun('nats-server', ['--version']);
  if (supported(onPath)) {
    log(`nats: go install failed, using nats-server on PATH (${onPath?.trim()})`);
    return 'nats-server';
  }
  throw new ProvisionError(
    `cannot provision nats-server: go install failed and no nats-server >= 2.10 is on PATH.\n` +
      `${failures.join('\n')}\nFix: make the Go module proxy reachable (and Go >= 1.23 on PATH), ` +
      `or install nats-server >= 2.10, or set NATS_URL.`,
  );
});

function supported(versionOutput: string | undefined): boolean {
  const m = versionOutput?.match(/v?(\d+)\.(\d+)\.\d+/);
  return !!m && Number(m[1]) === 2 && Number(m[2]) >= 10;
}
