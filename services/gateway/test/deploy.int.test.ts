/**
 * Live check of what deploy/ promises about running services: all four started on real NATS,
 * Kafka and a Mongo-wire server; every metric the Grafana dashboard queries appears in some
 * service's /metrics scrape; every k8s probe path answers 200 on its service.
 */

import { HistoryService, loadHistoryConfig } from '@parley/history';
import { createLogger } from '@parley/log';
import { loadNotifyConfig, NotifyService } from '@parley/notify';
import { loadPresenceConfig, PresenceService } from '@parley/presence';
import { connectBus, openStores, openStream, verifierFrom } from '@parley/runtime';
import { eventually, uniquePrefix, wsClient } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CONTRACT,
  dashboardQueries,
  exposedNames,
  isExported,
  promqlMetricNames,
  type ServiceName,
  yamlDocs,
} from './deploy.shared.ts';
import { startGateway, type TestGateway, token } from './harness.ts';

type Probe = { httpGet: { path: string } };
type Deployment = {
  metadata: { name: ServiceName };
  spec: {
    template: {
      spec: { containers: { readinessProbe: Probe; livenessProbe: Probe; startupProbe?: Probe }[] };
    };
  };
};

const stops: (() => Promise<void>)[] = [];
const http: Partial<Record<ServiceName, string>> = {};
let gw: TestGateway;

beforeAll(async () => {
  const prefix = uniquePrefix('deploy');
  const env = {
    NATS_URL: inject('natsUrl'),
    KAFKA_BROKERS: inject('kafkaBrokers'),
    MONGO_URL: inject('mongoUrl'),
    MONGO_DB: prefix,
    LOG_LEVEL: 'warn',
    HISTORY_PORT: '0',
    PRESENCE_PORT: '0',
    NOTIFY_PORT: '0',
    HISTORY_HOST: '127.0.0.1',
    PRESENCE_HOST: '127.0.0.1',
    NOTIFY_HOST: '127.0.0.1',
    HISTORY_BRIDGE_DURABLE: prefix,
    HISTORY_WRITER_GROUP: `${prefix}-writer`,
  };
  const log = createLogger({ service: 'deploy-test', level: 'warn' });
  // The gateway first: it creates stream CHAT, which the history bridge consumes.
  gw = await startGateway({ natsUrl: env.NATS_URL });
  stops.push(() => gw.stop());
  http.gateway = gw.http;

  const historyCfg = loadHistoryConfig(env);
  const verifier = await verifierFrom(historyCfg);
  const stores = await openStores(historyCfg);
  stops.push(() => stores.close());
  const stream = await openStream(historyCfg, `${prefix}-client`, log);
  stops.push(() => stream.stop());

  const hBus = await connectBus(historyCfg, 'deploy-history', log);
  const history = new HistoryService({
    cfg: historyCfg,
    bus: hBus,
    stream,
    stores: stores.stores,
    verifier,
    log,
  });
  await history.start();
  stops.push(async () => {
    await history.drain();
    await hBus.close();
  });
  http.history = `http://127.0.0.1:${history.port}`;

  const presenceCfg = loadPresenceConfig(env);
  const pBus = await connectBus(presenceCfg, 'deploy-presence', log);
  const presence = new PresenceService({ cfg: presenceCfg, bus: pBus, verifier, log });
  await presence.start();
  stops.push(async () => {
    await presence.drain();
    await pBus.close();
  });
  http.presence = `http://127.0.0.1:${presence.port}`;

  const notifyCfg = loadNotifyConfig(env);
  const nBus = await connectBus(notifyCfg, 'deploy-notify', log);
  const notify = new NotifyService({
    cfg: notifyCfg,
    bus: nBus,
    stream,
    stores: stores.stores,
    verifier,
    log,
  });
  await notify.start();
  stops.push(async () => {
    await notify.drain();
    await nBus.close();
  });
  http.notify = `http://127.0.0.1:${notify.port}`;
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
});

describe('deploy files against running services', () => {
  it('every metric the Grafana dashboard queries is in a live /metrics scrape', async () => {
    // Some traffic, so labelled series exist too (declared names count even without samples).
    const c = await wsClient(gw.url, { token: await token('deploy-user') });
    const room = uniquePrefix('room');
    await c.request({ type: 'join', room });
    await c.request({ type: 'publish', room, body: 'metrics', clientMsgId: 'm1' });
    await c.close();

    const declared = new Set<string>();
    const sampled = new Set<string>();
    const perService: Record<string, number> = {};
    for (const [svc, base] of Object.entries(http)) {
      const res = await fetch(`${base}/metrics`);
      expect(res.status, svc).toBe(200);
      const names = exposedNames(await res.text());
      perService[svc] = [...names.declared].filter((n) => n.startsWith(`parley_${svc}_`)).length;
      for (const n of names.declared) declared.add(n);
      for (const n of names.sampled) sampled.add(n);
    }
    for (const svc of Object.keys(CONTRACT))
      expect(perService[svc], `${svc} exports parley_${svc}_*`).toBeGreaterThan(0);

    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const missing = queries.flatMap((q) =>
      promqlMetricNames(q.expr)
        .filter((n) => !isExported(n, { declared, sampled }))
        .map((n) => `${q.panel}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it('every k8s probe path answers 200 on its service', async () => {
    const deployments = ['gateway', 'history', 'presence', 'notify'].flatMap((f) =>
      yamlDocs(`deploy/k8s/${f}.yaml`).filter((d) => d.kind === 'Deployment'),
    ) as unknown as Deployment[];
    expect(deployments).toHaveLength(4);
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      expect(c, d.metadata.name).toBeDefined();
      if (!c) continue;
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        if (!probe) continue;
        // Readiness may take a moment (presence rebuilds from gateways first).
        await eventually(
          async () => {
            const res = await fetch(`${http[d.metadata.name]}${probe.httpGet.path}`);
            expect(res.status, `${d.metadata.name} ${probe.httpGet.path}`).toBe(200);
          },
          { timeoutMs: 20_000 },
        );
      }
    }
  });
});
