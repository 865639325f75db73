import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { dockerAvailable, startDocker } from './docker.ts';
import { makeTempDir, removeTempDir } from './process.ts';
import { ensureNatsServer } from './provision/nats.ts';
import { ExternalServer, LocalServer, type ServerHandle } from './server.ts';
import { freePort, logFilePath } from './util.ts';

/**
 * Starts (or points at) a NATS server; JetStream is on unless `jetstream: false`. `own: true` starts
 * a private server even when NATS_URL is set: for a test that changes server-wide state other tests
 * rely on (stream CHAT's window) or that kills the server.
 */
export async function startNats(opts: { jetstream?: boolean; own?: boolean } = {}): Promise<ServerHandle> {
  const jetstream = opts.jetstream ?? true;
  const fromEnv = process.env.NATS_URL;
  if (fromEnv && !opts.own) return new ExternalServer('nats', fromEnv, 'NATS_URL');
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const probe = () => probeNats(url, jetstream);
  if (await dockerAvailable()) {
    return startDocker({
      name: 'nats',
      url,
      image: 'nats:2.11-alpine',
      ports: [[port, 4222]],
      args: jetstream ? ['-js', '-sd', '/data'] : [],
      probe,
    });
  }
  const bin = await ensureNatsServer();
  const dataDir = makeTempDir('nats');
  const server = new LocalServer({
    name: 'nats',
    url,
    dataDir,
    logFile: logFilePath('nats', port),
    command: () => ({
      cmd: bin,
      args: ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', dataDir] : [])],
    }),
    probe,
    readyTimeoutMs: 20_000,
    fix: 'run `npm run infra -- provision` to rebuild nats-server, or set NATS_URL to an external server',
  });
  try {
    await server.start();
  } catch (err) {
    removeTempDir(dataDir);
    throw err;
  }
  return server;
}

// Connect + flush is a full round trip; JetStream account info proves JetStream finished recovery
// (after kill -9 it may accept connections before its streams are back).
async function probeNats(url: string, jetstream: boolean): Promise<void> {
  const nc = await connect({ servers: url, timeout: 1_000, reconnect: false });
  try {
    await nc.flush();
    if (jetstream) await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo();
  } finally {
    await nc.close();
  }
}

/**
 * Deletes a JetStream consumer if it exists. Tests that create durables on the shared server call
 * it when done: on an interest-retention stream (Parley's CHAT_LOG) a forgotten durable keeps every
 * later message, and each new durable then starts by replaying them all.
 */
export async function deleteConsumer(url: string, stream: string, name: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2_000, reconnect: false });
  try {
    await (await jetstreamManager(nc, { timeout: 5_000 })).consumers.delete(stream, name).catch(() => false);
  } finally {
    await nc.close();
  }
}
