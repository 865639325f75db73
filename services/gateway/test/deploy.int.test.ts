/**
 * Live check of what deploy/ promises about running services: all four started on real NATS,
 * Kafka and a Mongo-wire server (in this process, by the embedded stack helper); every metric the
 * Grafana dashboard queries appears in some service's /metrics scrape; every k8s probe path answers
 * 200 on its service.
 */

import { type Stack, startStack } from '@parley/embedded/testing';
import { eventually, uniquePrefix } from '@parley/testkit';
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

type Probe = { httpGet: { path: string } };
type Deployment = {
  metadata: { name: ServiceName };
  spec: {
    template: {
      spec: { containers: { readinessProbe: Probe; livenessProbe: Probe; startupProbe?: Probe }[] };
    };
  };
};

let stack: Stack;

beforeAll(async () => {
  stack = await startStack(
    { natsUrl: inject('natsUrl'), kafkaBrokers: inject('kafkaBrokers'), mongoUrl: inject('mongoUrl') },
    {},
    { label: 'deploy' },
  );
});

afterAll(() => stack?.stop());

describe('deploy files against running services', () => {
  it('every metric the Grafana dashboard queries is in a live /metrics scrape', async () => {
    // Some traffic, so labelled series exist too (declared names count even without samples).
    const c = await stack.connect('deploy-user');
    const room = uniquePrefix('room');
    await c.request({ type: 'join', room });
    await c.request({ type: 'publish', room, body: 'metrics', clientMsgId: 'm1' });
    await c.close();

    const declared = new Set<string>();
    const sampled = new Set<string>();
    const perService: Record<string, number> = {};
    for (const [svc, base] of Object.entries(stack.http)) {
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
            const res = await fetch(`${stack.http[d.metadata.name]}${probe.httpGet.path}`);
            expect(res.status, `${d.metadata.name} ${probe.httpGet.path}`).toBe(200);
          },
          { timeoutMs: 20_000 },
        );
      }
    }
  });
});
