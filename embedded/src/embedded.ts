/**
 * Embedded mode: gateway, history, presence and notify in one process. With no broker URLs they
 * share in-memory stand-ins for NATS, Kafka and Mongo (the same adapter interfaces, passing the
 * same contract suites); with NATS_URL, KAFKA_BROKERS and MONGO_URL set they use the real ones.
 * This is the only place that composes several services, and it does so through their public
 * entry points only.
 */
import { Gateway, loadGatewayConfig } from '@parley/gateway';
import { HistoryService, loadHistoryConfig } from '@parley/history';
import type { Logger } from '@parley/log';
import { loadNotifyConfig, NotifyService } from '@parley/notify';
import { loadPresenceConfig, PresenceService } from '@parley/presence';
import {
  chatWindowOf,
  connectBus,
  createMemoryInfra,
  openStores,
  openStream,
  verifierFrom,
} from '@parley/runtime';

export interface Embedded {
  gateway: Gateway;
  ports: { gateway: number; history: number; presence: number; notify: number };
  /** True when every broker is in memory (nothing persists past the process). */
  memory: boolean;
  stop(): Promise<void>;
}

type Env = Record<string, string | undefined>;

export async function startEmbedded(env: Env, log: Logger): Promise<Embedded> {
  // Every config is loaded (and every problem reported) before anything starts.
  const gatewayCfg = loadGatewayConfig(env);
  const historyCfg = loadHistoryConfig(env);
  const presenceCfg = loadPresenceConfig(env);
  const notifyCfg = loadNotifyConfig(env);
  const memory = createMemoryInfra(chatWindowOf(gatewayCfg));
  const verifier = await verifierFrom(gatewayCfg);
  const stopAll: (() => Promise<void>)[] = [];

  const bus = (name: string) => connectBus(gatewayCfg, name, log, memory);
  const stores = await openStores(historyCfg, memory);
  stopAll.push(() => stores.close());
  const stream = await openStream(historyCfg, 'parley-embedded', log, memory);
  stopAll.push(() => stream.stop());

  const historyBus = await bus('history');
  const history = new HistoryService({
    cfg: historyCfg,
    bus: historyBus,
    stream,
    stores: stores.stores,
    verifier,
    log: log.child({ service: 'history' }),
  });
  await history.start();
  stopAll.push(async () => {
    await history.drain();
    await historyBus.close();
  });

  const presenceBus = await bus('presence');
  const presence = new PresenceService({
    cfg: presenceCfg,
    bus: presenceBus,
    verifier,
    log: log.child({ service: 'presence' }),
  });
  await presence.start();
  stopAll.push(async () => {
    await presence.drain();
    await presenceBus.close();
  });

  const notifyBus = await bus('notify');
  const notify = new NotifyService({
    cfg: notifyCfg,
    bus: notifyBus,
    stream,
    stores: stores.stores,
    verifier,
    log: log.child({ service: 'notify' }),
  });
  await notify.start();
  stopAll.push(async () => {
    await notify.drain();
    await notifyBus.close();
  });

  const gatewayBus = await bus('gateway');
  const gateway = new Gateway({
    cfg: gatewayCfg,
    bus: gatewayBus,
    verifier,
    log: log.child({ service: 'gateway' }),
  });
  await gateway.start();
  stopAll.push(async () => {
    await gateway.drain(0);
    await gatewayBus.close();
  });

  return {
    gateway,
    ports: {
      gateway: gateway.listeningPort,
      history: history.port,
      presence: presence.port,
      notify: notify.port,
    },
    memory: !gatewayCfg.natsUrl,
    // Reverse order: the edge first, then the services behind it, then the stores.
    stop: async () => {
      for (const stop of stopAll.reverse()) await stop();
    },
  };
}
