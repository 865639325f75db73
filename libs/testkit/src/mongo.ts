import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { dockerAvailable, startDocker } from './docker.ts';
import { makeTempDir, removeTempDir } from './process.ts';
import { ensureMongoServer, type MongoBinary } from './provision/mongo.ts';
import { ExternalServer, LocalServer, type ServerHandle } from './server.ts';
import { freePort, logFilePath } from './util.ts';

/** Starts (or points at) a Mongo-wire server: mongod if on PATH, else FerretDB on SQLite (see README). */
export async function startMongo(): Promise<ServerHandle> {
  const fromEnv = process.env.MONGO_URL;
  if (fromEnv) return new ExternalServer('mongo', fromEnv, 'MONGO_URL');
  const port = await freePort();
  const url = `mongodb://127.0.0.1:${port}/`;
  const probe = () => probeMongo(url);
  if (await dockerAvailable()) {
    return startDocker({ name: 'mongo', url, image: 'mongo:7', ports: [[port, 27017]], probe });
  }
  const binary = await ensureMongoServer();
  const dataDir = makeTempDir('mongo');
  const server = new LocalServer({
    name: 'mongo',
    url,
    dataDir,
    logFile: logFilePath(binary.kind, port),
    command: () => command(binary, port, dataDir),
    probe,
    readyTimeoutMs: 30_000,
    fix: 'run `npm run infra -- provision` to rebuild the Mongo-wire server, or set MONGO_URL',
  });
  try {
    await server.start();
  } catch (err) {
    removeTempDir(dataDir);
    throw err;
  }
  return server;
}

function command(binary: MongoBinary, port: number, dataDir: string): { cmd: string; args: string[] } {
  const db = join(dataDir, 'db');
  mkdirSync(db, { recursive: true });
  if (binary.kind === 'mongod') {
    // Untested here (no mongod on the dev machines); standard standalone flags.
    return {
      cmd: binary.bin,
      args: ['--dbpath', db, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'],
    };
  }
  return {
    cmd: binary.bin,
    args: [
      '--handler=sqlite',
      `--sqlite-url=file:${db}/`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      // No debug HTTP listener: its fixed default port would collide between instances.
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
  };
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
