import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresInstall } from './provision/postgres.ts';
import { LocalServer, ServerStartError } from './server.ts';
import { freePort, logFilePath } from './util.ts';

/** The database FerretDB stores into (its `--postgresql-url` path). */
export const FERRETDB_DATABASE = 'ferretdb';

/**
 * A private PostgreSQL for one FerretDB: cluster in `<dataDir>/pg`, TCP on 127.0.0.1:<free port>,
 * unix socket in `<dataDir>/sock` (never the system's /var/run/postgresql), trust auth, database
 * `ferretdb` created. Durability is off (`fsync`, `synchronous_commit`, `full_page_writes`): it holds
 * throw-away test data, and a kill -9 of FerretDB (what fault tests do) does not touch PostgreSQL.
 * Not a public ServerHandle: startMongo() owns it and stops it with the Mongo-wire handle.
 */
export async function startPostgres(
  pg: PostgresInstall,
  dataDir: string,
): Promise<{ server: LocalServer; port: number }> {
  const port = await freePort();
  const pgdata = join(dataDir, 'pg');
  const sock = join(dataDir, 'sock');
  mkdirSync(sock, { recursive: true });
  const as = pg.runAs ? { uid: pg.runAs.uid, gid: pg.runAs.gid } : {};
  if (pg.runAs) {
    // PostgreSQL refuses to run as root: the temp dir (0700, made by root) must be its user's.
    chownSync(dataDir, pg.runAs.uid, pg.runAs.gid);
    chownSync(sock, pg.runAs.uid, pg.runAs.gid);
  }
  const logFile = logFilePath('postgres', port);
  const bin = (tool: string) => join(pg.binDir, tool);
  const fix =
    'check the PostgreSQL install (`apt-get install -y postgresql`) and the log above, or set MONGO_URL';
  const fail = (what: string, err: Error) =>
    new ServerStartError(
      `PostgreSQL (for FerretDB) failed: ${what}: ${err.message}\nLog file: ${logFile}\nFix: ${fix}`,
    );
  try {
    // --no-sync: nothing of a test cluster needs to survive a machine crash.
    await exec(
      bin('initdb'),
      [
        '-D',
        pgdata,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { ...as, cwd: dataDir, logFile },
    );
  } catch (err) {
    throw fail('initdb', err as Error);
  }
  const server = new LocalServer({
    name: 'mongo',
    label: 'PostgreSQL (for FerretDB)',
    url: `postgres://postgres@127.0.0.1:${port}/${FERRETDB_DATABASE}`,
    dataDir,
    logFile,
    command: () => ({
      cmd: bin('postgres'),
      args: [
        '-D',
        pgdata,
        '-p',
        String(port),
        '-h',
        '127.0.0.1',
        '-k',
        sock,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      cwd: dataDir,
      ...as,
    }),
    probe: () =>
      exec(bin('pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-t', '1']).then(() => {}),
    readyTimeoutMs: 30_000,
    stopSignal: 'SIGINT', // "fast" shutdown: SIGTERM would wait for clients to disconnect
    fix,
  });
  await server.start();
  try {
    await exec(
      bin('createdb'),
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', FERRETDB_DATABASE],
      {
        logFile,
      },
    );
  } catch (err) {
    await server.stop();
    throw fail('createdb', err as Error);
  }
  return { server, port };
}

function exec(
  cmd: string,
  args: string[],
  opts: { cwd?: string; uid?: number; gid?: number; logFile?: string } = {},
): Promise<string> {
  const { logFile, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...spawnOpts, timeout: 60_000 }, (err, stdout, stderr) => {
      if (logFile) appendFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n${stdout}${stderr}`);
      if (err) reject(new Error(`\`${cmd} ${args.join(' ')}\` failed: ${`${stderr}`.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}
