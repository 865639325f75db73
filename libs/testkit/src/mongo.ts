import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { dockerAvailable, startDocker } from './docker.ts';
import { startPostgres } from './postgres.ts';
import { makeTempDir, removeTempDir } from './process.ts';
import { ensureMongoServer } from './provision/mongo.ts';
import { ExternalServer, LocalServer, type ServerHandle } from './server.ts';
import { freePort, logFilePath } from './util.ts';

/**
 * Starts (or points at) a Mongo-wire server: mongod if on PATH, else FerretDB on a private
 * PostgreSQL (see README). stop/kill/start act on the Mongo-wire process only. `own: true` starts a
 * private server even when MONGO_URL is set: for a test that stops it.
 */
export async function startMongo(opts: { own?: boolean } = {}): Promise<ServerHandle> {
  const fromEnv = process.env.MONGO_URL;
  if (fromEnv && !opts.own) return new ExternalServer('mongo', fromEnv, 'MONGO_URL');
  const port = await freePort();
  const url = `mongodb://127.0.0.1:${port}/`;
  const probe = () => probeMongo(url);
  if (await dockerAvailable()) {
    return startDocker({ name: 'mongo', url, image: 'mongo:7', ports: [[port, 27017]], probe });
  }
  const binary = await ensureMongoServer();
  const dataDir = makeTempDir('mongo');
  const spec = {
    name: 'mongo' as const,
    url,
    dataDir,
    logFile: logFilePath(binary.kind, port),
    probe,
    readyTimeoutMs: 30_000,
    fix: 'run `npm run infra -- provision` to rebuild the Mongo-wire server, or set MONGO_URL',
  };
  let postgres: LocalServer | undefined;
  try {
    if (binary.kind === 'mongod') {
      // Untested here (no mongod on the dev machines); standard standalone flags.
      const db = join(dataDir, 'db');
      mkdirSync(db, { recursive: true });
      const args = ['--dbpath', db, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'];
      const server = new LocalServer({ ...spec, command: () => ({ cmd: binary.bin, args }) });
      await server.start();
      return server;
    }
    postgres = (await startPostgres(binary.pg, dataDir)).server;
    const args = [
      '--handler=postgresql',
      `--postgresql-url=${postgres.url}`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      // No debug HTTP listener: its fixed default port would collide between instances.
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ];
    const ferretdb = new LocalServer({ ...spec, command: () => ({ cmd: binary.bin, args }) });
    await ferretdb.start();
    return new FerretDBServer(ferretdb, postgres, dataDir);
  } catch (err) {
    await postgres?.stop();
    removeTempDir(dataDir);
    throw err;
  }
}

/**
 * FerretDB plus the PostgreSQL it stores into. The fault methods act on FerretDB, the Mongo-wire
 * server clients talk to: PostgreSQL and its data stay up across kill()/stop()/start(), as a
 * mongod's files would. Disposing stops both and deletes the data dir.
 */
class FerretDBServer implements ServerHandle {
  readonly name = 'mongo';
  readonly external = false;

  constructor(
    private readonly ferretdb: LocalServer,
    private readonly postgres: LocalServer,
    private readonly dataDir: string,
  ) {}

  get url(): string {
    return this.ferretdb.url;
  }
  /** FerretDB's pid (undefined when stopped); tests use it to prove nothing is left behind. */
  get pid(): number | undefined {
    return this.ferretdb.pid;
  }
  /** The PostgreSQL postmaster's pid. */
  get postgresPid(): number | undefined {
    return this.postgres.pid;
  }
  stop(): Promise<void> {
    return this.ferretdb.stop();
  }
  kill(): Promise<void> {
    return this.ferretdb.kill();
  }
  start(): Promise<void> {
    return this.ferretdb.start();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.ferretdb.stop();
    } finally {
      await this.postgres.stop();
      removeTempDir(this.dataDir);
    }
  }
}

// ping answers before storage is usable on some servers; a write proves the backend works.
async function probeMongo(url: string): Promise<void> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 1_000,
    connectTimeoutMS: 1_000,
    directConnection: true,
  });
  try {
    const db = client.db('parley_testkit_probe');
    await db.command({ ping: 1 });
    await db
      .collection<{ _id: string; n: number }>('probe')
      .updateOne({ _id: 'probe' }, { $inc: { n: 1 } }, { upsert: true });
  } finally {
    await client.close();
  }
}
