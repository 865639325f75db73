// Real servers for Parley's integration tests (ARCHITECTURE §8): URL from env, else Docker, else local
// processes provisioned into ${PARLEY_CACHE:-~/.cache/parley}. No child process outlives this process.

/** Single-node Kafka (KRaft); resolves when a topic can be created and has a leader. */
export { startKafka } from './kafka.ts';
/** Mongo-wire server (mongod, else FerretDB on a private PostgreSQL); resolves after ping and a write succeeded. */
export { startMongo } from './mongo.ts';
/** nats-server (JetStream on by default); resolves after connect+flush (+ JetStream account info). */
/** Deletes a JetStream consumer (a test's durable) if it exists. */
export { deleteConsumer, startNats } from './nats.ts';
/** Installs every server into the cache, logging progress; a no-op when all are cached. */
export { provisionAll } from './provision/index.ts';
/** Handle to a started (or external) server: fixed URL, stop/kill/start for fault tests, disposable. */
export type { ServerHandle } from './server.ts';
/** spawnService: a Parley service as a child process (kill -9 / SIGTERM tests), ready-polled, its log quoted on failure. */
export { type ServiceChild, type ServiceSpec, spawnService } from './service.ts';
/** eventually: retries until fn stops throwing; uniquePrefix: per-test namespace; freePort: a free TCP port. */
export { eventually, freePort, uniquePrefix } from './util.ts';
/** wsClient: a protocol-aware test client (frames, request by id, waitFor); expectClose: a refused socket's close. */
export { expectClose, type WsClient, wsClient } from './ws-client.ts';
