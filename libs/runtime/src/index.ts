/**
 * Composition helpers shared by every service's main.ts and by embedded mode: build the drivers a
 * config asks for (real when URLs are set, memory otherwise), and run a service with signals wired
 * to its drain. Only composition roots import this package.
 */
import { type AuthOptions, createVerifier, type Verifier } from '@parley/auth';
import { type Bus, type ChatWindow, createNatsBus, MemoryBroker } from '@parley/bus';
import { ConfigError } from '@parley/config';
import type { Logger } from '@parley/log';
import { memoryStores, mongoStores, openMongo, type Stores } from '@parley/store';
import { createKafkaStream, createMemoryStream, type EventStream } from '@parley/stream';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Adapts a pino logger to the drivers' (level, msg, fields) callback. */
export const driverLog =
  (log: Logger) =>
  (level: Level, msg: string, fields?: Record<string, unknown>): void =>
    log[level](fields ?? {}, msg);

/** In-process stand-ins for NATS, Kafka and Mongo, shared by every service of one embedded process. */
export interface MemoryInfra {
  broker: MemoryBroker;
  stream: EventStream;
  stores: Stores;
}

export function createMemoryInfra(window?: Partial<ChatWindow>): MemoryInfra {
  return { broker: new MemoryBroker(window), stream: createMemoryStream(), stores: memoryStores() };
}

interface AuthSettings {
  authSecret?: string | undefined;
  authPublicKeyFile?: string | undefined;
  authJwksUrl?: string | undefined;
  authIssuer?: string | undefined;
  authAudience?: string | undefined;
}

export function verifierFrom(cfg: AuthSettings): Promise<Verifier> {
  const opts: AuthOptions = {};
  if (cfg.authSecret !== undefined) opts.secret = cfg.authSecret;
  if (cfg.authPublicKeyFile !== undefined) opts.publicKeyFile = cfg.authPublicKeyFile;
  if (cfg.authJwksUrl !== undefined) opts.jwksUrl = cfg.authJwksUrl;
  if (cfg.authIssuer !== undefined) opts.issuer = cfg.authIssuer;
  if (cfg.authAudience !== undefined) opts.audience = cfg.authAudience;
  return createVerifier(opts);
}

interface BusSettings {
  natsUrl?: string | undefined;
  chatWindowMessages: number;
  chatWindowAgeMs: number;
  chatDuplicateWindowMs: number;
  chatFeedMaxUncopied?: number | undefined;
  natsReplicas: number;
}

export function chatWindowOf(cfg: BusSettings): ChatWindow {
  return {
    maxPerRoom: cfg.chatWindowMessages,
    maxAgeMs: cfg.chatWindowAgeMs,
    duplicateWindowMs: cfg.chatDuplicateWindowMs,
  };
}

/** NATS when NATS_URL is set; the embedded broker otherwise (a standalone service without NATS is a config error). */
export function connectBus(cfg: BusSettings, name: string, log: Logger, memory?: MemoryInfra): Promise<Bus> {
  if (cfg.natsUrl) {
    return createNatsBus({
      servers: cfg.natsUrl,
      name,
      window: chatWindowOf(cfg),
      ...(cfg.chatFeedMaxUncopied !== undefined ? { chatLog: { maxUncopied: cfg.chatFeedMaxUncopied } } : {}),
      replicas: cfg.natsReplicas,
      log: driverLog(log),
    });
  }
  if (memory) return Promise.resolve(memory.broker.connect());
  throw new ConfigError([
    'NATS_URL: required to run this service on its own (or run everything embedded with `npm start`)',
  ]);
}

export async function openStream(
  cfg: { kafkaBrokers?: readonly string[] | undefined },
  clientId: string,
  log: Logger,
  memory?: MemoryInfra,
): Promise<EventStream> {
  let stream: EventStream;
  if (cfg.kafkaBrokers && cfg.kafkaBrokers.length > 0) {
    stream = createKafkaStream({ brokers: [...cfg.kafkaBrokers], clientId, log: driverLog(log) });
  } else if (memory) stream = memory.stream;
  else
    throw new ConfigError([
      'KAFKA_BROKERS: required to run this service on its own (or run embedded with `npm start`)',
    ]);
  await stream.start();
  return stream;
}

export async function openStores(
  cfg: { mongoUrl?: string | undefined; mongoDb: string },
  memory?: MemoryInfra,
): Promise<{ stores: Stores; close(): Promise<void> }> {
  if (cfg.mongoUrl) {
    const handle = await openMongo(cfg.mongoUrl, cfg.mongoDb);
    return { stores: mongoStores(handle.db), close: () => handle.close() };
  }
  if (memory) return { stores: memory.stores, close: async () => {} };
  throw new ConfigError([
    'MONGO_URL: required to run this service on its own (or run embedded with `npm start`)',
  ]);
}

export interface Running {
  /** Graceful stop: finish in-flight work, then release everything. */
  drain(): Promise<void>;
}

/**
 * Runs a service: a ConfigError prints its lines and exits 1 (no stack trace for a settings
 * mistake); SIGTERM/SIGINT drain and exit 0; a second signal exits at once.
 */
export async function runService(name: string, start: () => Promise<Running>): Promise<void> {
  let running: Running;
  try {
    running = await start();
  } catch (e) {
    if (e instanceof ConfigError) console.error(`${name}: ${e.message}`);
    else console.error(`${name}: failed to start:`, e);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.error(`${name}: ${signal}, draining`);
    running.drain().then(
      () => process.exit(0),
      (e) => {
        console.error(`${name}: drain failed:`, e);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
