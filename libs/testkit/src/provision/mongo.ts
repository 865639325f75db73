import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../util.ts';
import { ensurePostgres, type PostgresInstall } from './postgres.ts';
import { goEnv, type Log, once, ProvisionError, run, tryRun } from './run.ts';

// FerretDB v1 is the last line that runs on plain PostgreSQL (v2 needs Microsoft's DocumentDB
// extension). The test kit runs it on its PostgreSQL backend (README: why not SQLite).
export const FERRETDB_VERSION = 'v1.24.0';
// Stamped into the binary so a build without our patch is never mistaken for this one.
const BUILD_TAG = `${FERRETDB_VERSION}-parley2`;
const MODULE = 'github.com/FerretDB/FerretDB';

export type MongoBinary =
  | { kind: 'mongod'; bin: string }
  | { kind: 'ferretdb'; bin: string; pg: PostgresInstall };

/**
 * A Mongo-wire server: `mongod` on PATH if present, else FerretDB (built from source once) plus the
 * PostgreSQL server binaries it stores into (from the OS package; checked first, so a missing
 * PostgreSQL fails before a minute of Go build).
 */
export const ensureMongoServer = once(async (log: Log = () => {}): Promise<MongoBinary> => {
  if (await tryRun('mongod', ['--version'])) return { kind: 'mongod', bin: 'mongod' };
  const pg = await ensurePostgres(log);
  const bin = join(cacheDir('bin'), 'ferretdb');
  if (existsSync(bin) && (await tryRun(bin, ['--version']))?.includes(BUILD_TAG))
    return { kind: 'ferretdb', bin, pg };
  try {
    await buildFerretDB(bin, log);
  } catch (err) {
    throw new ProvisionError(
      `cannot provision FerretDB ${FERRETDB_VERSION} (no mongod on PATH): ${(err as Error).message}\n` +
        'Fix: make the Go module proxy reachable, or put mongod on PATH, or set MONGO_URL.',
    );
  }
  return { kind: 'ferretdb', bin, pg };
});

// `go install …ferretdb@v1.24.0` does not work: the proxy refuses FerretDB's version list (needed for
// the deprecation check) and the module zip lacks the generated build/version/version.txt, without
// which the binary panics at start. So: download the module, copy it, add version.txt, patch, build.
async function buildFerretDB(bin: string, log: Log): Promise<void> {
  log(`mongo: no mongod on PATH; building FerretDB ${FERRETDB_VERSION} (pure Go)`);
  const env = goEnv();
  const info = JSON.parse(
    await run('go', ['mod', 'download', '-json', `${MODULE}@${FERRETDB_VERSION}`], { env, cwd: cacheDir() }),
  ) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(info.Error ?? 'go mod download returned no Dir');
  const src = join(cacheDir('build'), `ferretdb-${FERRETDB_VERSION}-${process.pid}`);
  rmSync(src, { recursive: true, force: true });
  try {
    cpSync(info.Dir, src, { recursive: true });
    await run('chmod', ['-R', 'u+w', src]);
    writeFileSync(join(src, 'build', 'version', 'version.txt'), `${BUILD_TAG}\n`);
    patchTtlOption(join(src, 'internal', 'handler', 'msg_createindexes.go'));
    patchUpdateConnections(join(src, 'internal', 'handler', 'msg_update.go'));
    log('mongo: go build ./cmd/ferretdb (about a minute on 2 cores, first time only)');
    const tmpBin = `${bin}.tmp-${process.pid}`;
    await run('go', ['build', '-o', tmpBin, './cmd/ferretdb'], {
      env: { ...env, GOFLAGS: `${env.GOFLAGS} -mod=mod` },
      cwd: src,
    });
    renameSync(tmpBin, bin);
    log(`mongo: installed FerretDB at ${bin}`);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

// FerretDB v1 rejects `expireAfterSeconds` with NotImplemented, which would break code that creates
// TTL indexes at startup. The patch makes it accept and ignore the option (documents never expire).
function patchTtlOption(file: string): void {
  const before = readFileSync(file, 'utf8');
  const after = before
    .replace(
      'case "partialFilterExpression", "expireAfterSeconds", "hidden",',
      'case "partialFilterExpression", "hidden",',
    )
    .replace(
      '\t\tcase "sparse":\n',
      '\t\tcase "sparse", "expireAfterSeconds": // parley testkit: TTL accepted, not enforced\n',
    );
  if (after.split('expireAfterSeconds').length !== before.split('expireAfterSeconds').length) {
    throw new Error(`patch for expireAfterSeconds did not apply cleanly to ${file}`);
  }
  if (!after.includes('"sparse", "expireAfterSeconds"')) throw new Error(`patch did not apply to ${file}`);
  writeFileSync(file, after);
}

// FerretDB v1's `update` command runs its statements in a loop and closes each statement's query
// iterator with a `defer` in the loop body, i.e. only when the whole command returns. On the
// PostgreSQL backend an open iterator holds a pooled connection (50 by default), and a statement
// that matched a document holds it: an `update` (bulkWrite) of 50+ upserts of existing documents
// holds the whole pool and then waits forever for a connection to write with — FerretDB hangs (every
// later command too). The patch closes each statement's iterator as soon as its update is done.
function patchUpdateConnections(file: string): void {
  const before = readFileSync(file, 'utf8');
  const deferred = '\t\tcloser := iterator.NewMultiCloser()\n\t\tdefer closer.Close()\n';
  const call = '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n';
  if (!before.includes(deferred) || !before.includes(call)) {
    throw new Error(`patch for update connections did not apply to ${file}`);
  }
  const after = before
    .replace(deferred, '\t\tcloser := iterator.NewMultiCloser()\n')
    .replace(call, `${call}\t\tcloser.Close() // parley testkit: release this statement's connection now\n`);
  writeFileSync(file, after);
}
