/** A history service on memory drivers, for unit tests (not exported from the package entry). */
import { createVerifier, DEV_SECRET, signToken } from '@parley/auth';
import { type Bus, createMemoryBus, type MemoryBroker } from '@parley/bus';
import { createTestLogger, type TestLogger } from '@parley/log';
import { encodeChatPayload } from '@parley/protocol';
import { memoryStores, type Stores } from '@parley/store';
import { createMemoryStream, type MemoryStream } from '@parley/stream';
import { loadHistoryConfig } from './config.ts';
import { HistoryService } from './service.ts';

export interface MemoryHistory {
  broker: MemoryBroker;
  bus: Bus;
  stream: MemoryStream;
  stores: Stores;
  logs: TestLogger;
  service: HistoryService;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startMemoryHistory(
  env: Record<string, string> = {},
  wrap: (stores: Stores) => Stores = (s) => s,
): Promise<MemoryHistory> {
  const { broker, bus } = createMemoryBus();
  const stream = createMemoryStream();
  const stores = wrap(memoryStores());
  const logs = createTestLogger();
  const cfg = loadHistoryConfig({ HISTORY_PORT: '0', HISTORY_HOST: '127.0.0.1', ...env });
  const verifier = await createVerifier({ secret: DEV_SECRET });
  const service = new HistoryService({ cfg, bus, stream, stores, verifier, log: logs.logger });
  await service.start();
  return {
    broker,
    bus,
    stream,
    stores,
    logs,
    service,
    async [Symbol.asyncDispose]() {
      await service.drain();
      await stream.stop();
      await bus.close();
    },
  };
}

/** Appends a valid chat message the way the gateway does; resolves with its seq. */
export async function appendChat(bus: Bus, room: string, i: number, from = 'alice'): Promise<number> {
  const payload = encodeChatPayload({
    msgId: `m-${room}-${i}`,
    from,
    body: `hello ${i}`,
    ts: Date.now(),
    clientMsgId: `c${i}`,
  });
  return (await bus.chat.append(room, payload, `${from}:${room}:${i}`)).seq;
}

export const adminToken = () => signToken(DEV_SECRET, { sub: 'root', scope: 'admin' });
export const userToken = () => signToken(DEV_SECRET, { sub: 'bob', rooms: ['*'] });
