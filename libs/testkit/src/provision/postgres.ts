import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Log, once, ProvisionError, tryRun } from './run.ts';

/** FerretDB v1.24's PostgreSQL backend is tested upstream on 14-16; older servers are refused. */
const MIN_MAJOR = 14;
const TOOLS = ['initdb', 'postgres', 'pg_isready', 'createdb'] as const;
const INSTALL = 'apt-get install -y postgresql';

/** Where the PostgreSQL server binaries are, and which OS user runs them. */
export interface PostgresInstall {
  binDir: string;
  version: string;
  /** Set when this process is root: PostgreSQL refuses to run as root, so it runs as this user. */
  runAs?: { user: string; uid: number; gid: number };
}

/**
 * Finds PostgreSQL >= 14 server binaries (not installed by the kit: they come from the OS package).
 * Search order: PARLEY_PG_BIN, then Debian's /usr/lib/postgresql/<major>/bin (newest first), then
 * `pg_config --bindir` on PATH. As root, the `postgres` OS user must exist too.
 */
export const ensurePostgres = once(async (log: Log = () => {}): Promise<PostgresInstall> => {
  const candidates = [
    process.env.PARLEY_PG_BIN,
    ...debianBinDirs(),
    (await tryRun('pg_config', ['--bindir']))?.trim(),
  ].filter((d): d is string => !!d);
  const tried: string[] = [];
  for (const binDir of candidates) {
    const missing = TOOLS.filter((t) => !existsSync(join(binDir, t)));
    if (missing.length > 0) {
      tried.push(`${binDir}: no ${missing.join(', ')}`);
      continue;
    }
    const out = await tryRun(join(binDir, 'postgres'), ['--version']);
    const version = out?.match(/(\d+)(\.\d+)?/)?.[0];
    if (!version || Number.parseInt(version, 10) < MIN_MAJOR) {
      tried.push(`${binDir}: version ${version ?? 'unknown'} (need ${MIN_MAJOR}+)`);
      continue;
    }
    const install: PostgresInstall = { binDir, version };
    if (process.getuid?.() === 0) install.runAs = postgresUser();
    log(`mongo: PostgreSQL ${version} from ${binDir}${install.runAs ? ' (runs as user postgres)' : ''}`);
    return install;
  }
  throw new ProvisionError(
    `no PostgreSQL ${MIN_MAJOR}+ server binaries found (FerretDB's backend in the test kit).\n` +
      `${tried.length ? `Tried: ${tried.join('; ')}\n` : ''}` +
      `Fix: ${INSTALL} (Debian/Ubuntu: binaries land in /usr/lib/postgresql/<major>/bin and the ` +
      '`postgres` user is created), or set PARLEY_PG_BIN to a directory with initdb, postgres, ' +
      'pg_isready and createdb, or put mongod on PATH, or set MONGO_URL.',
  );
});

function debianBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

function postgresUser(): { user: string; uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new ProvisionError(
      'running as root, and PostgreSQL refuses to run as root, but there is no `postgres` OS user.\n' +
        `Fix: ${INSTALL} (creates it), or \`useradd --system postgres\`, or run the tests as a non-root user.`,
    );
  }
  return { user: 'postgres', uid: Number(uid), gid: Number(gid) };
}
