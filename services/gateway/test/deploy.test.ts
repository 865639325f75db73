/**
 * Static validation of deploy/ (no Docker engine or cluster here): compose, Kubernetes, Prometheus
 * and Grafana files parse, and every image, service, port, env name, probe path and metric they
 * reference exists. The live /metrics comparison is in deploy.int.test.ts.
 */
import { existsSync } from 'node:fs';
import { MemoryBroker } from '@parley/bus';
import { ConfigError } from '@parley/config';
import { historySchema, loadHistoryConfig } from '@parley/history';
import { createRegistry } from '@parley/metrics';
import { loadNotifyConfig, notifySchema } from '@parley/notify';
import { loadPresenceConfig, presenceSchema } from '@parley/presence';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM build script without types
import { dashboard } from '../../../deploy/grafana/gen-dashboard.mjs';
import { gatewaySchema, loadGatewayConfig } from '../src/config.ts';
import {
  CONTRACT,
  dashboardQueries,
  exposedNames,
  isExported,
  listDir,
  promqlMetricNames,
  ROOT,
  read,
  SERVICES,
  type ServiceName,
  yaml,
  yamlDocs,
} from './deploy.shared.ts';
import { startGateway } from './harness.ts';

const SCHEMAS = {
  gateway: gatewaySchema,
  history: historySchema,
  presence: presenceSchema,
  notify: notifySchema,
};
const LOADERS: Record<ServiceName, (env: Record<string, string>) => unknown> = {
  gateway: loadGatewayConfig,
  history: loadHistoryConfig,
  presence: loadPresenceConfig,
  notify: loadNotifyConfig,
};
/** Env names a service reads: its config schema, plus SERVICE (the image's entry point). */
const envNames = (svc: ServiceName) =>
  new Set([...Object.values(SCHEMAS[svc]).map((f) => (f as { env: string }).env), 'SERVICE']);
const SECRET = 'x'.repeat(64);

// ---- compose ----------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
  volumes?: (string | Record<string, unknown>)[];
  ports?: string[];
  command?: string[] | string;
}
const compose = yaml<{ services: Record<string, ComposeService>; volumes: Record<string, unknown> }>(
  'deploy/compose/compose.yaml',
);
const parleyServices = Object.entries(compose.services).filter(([, s]) => s.environment?.SERVICE);
/** Compose interpolation of ${VAR:-default} and ${VAR:?error}, with the secret supplied. */
const interpolate = (v: string) =>
  String(v).replace(/\$\{(\w+)(?::[-?]([^}]*))?\}/g, (_, name: string, dflt: string | undefined) =>
    name === 'AUTH_JWT_SECRET' ? SECRET : (dflt ?? ''),
  );

describe('compose', () => {
  it('runs every Parley service, two gateways, and the infrastructure the brief asks for', () => {
    const kinds = parleyServices.map(([, s]) => s.environment?.SERVICE);
    expect(kinds.filter((k) => k === 'gateway').length).toBeGreaterThanOrEqual(2);
    for (const svc of SERVICES) expect(kinds, svc).toContain(svc);
    const nats = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('nats:'));
    expect(nats).toHaveLength(3);
    for (const [name, s] of nats) {
      const args = (s.command as string[]).join(' ');
      expect(args, name).toContain('--jetstream');
      expect(args, name).toContain('--routes=');
    }
    const images = Object.values(compose.services).map((s) => s.image ?? '');
    for (const img of ['apache/kafka:', 'mongo:', 'haproxy:', 'prom/prometheus:', 'grafana/grafana:'])
      expect(
        images.some((i) => i.startsWith(img)),
        img,
      ).toBe(true);
  });

  it('pins every image tag and builds the Parley image from the Dockerfile here', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image, name).toMatch(/^[\w./${}:-]+:[\w.${}:-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
    for (const [name, s] of parleyServices) {
      expect(s.build, name).toBeDefined();
      expect(existsSync(`${ROOT}deploy/compose/${s.build?.context}/${s.build?.dockerfile}`), name).toBe(true);
    }
  });

  it('gives Parley services only env names their config schema declares, with contract ports', () => {
    for (const [name, s] of parleyServices) {
      const svc = s.environment?.SERVICE as ServiceName;
      expect(SERVICES, name).toContain(svc);
      const unknown = Object.keys(s.environment ?? {}).filter((k) => !envNames(svc).has(k));
      expect(unknown, `${name}: unknown env`).toEqual([]);
      expect(Number(s.environment?.[CONTRACT[svc].env]), name).toBe(CONTRACT[svc].port);
    }
  });

  it("gives values each service's config loader accepts (production mode)", () => {
    for (const [name, s] of parleyServices) {
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
      );
      expect(env.NODE_ENV, name).toBe('production');
      expect(() => LOADERS[env.SERVICE as ServiceName](env), name).not.toThrow();
    }
  });

  it('references only services, volumes and files that exist', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(Object.keys(compose.services), `${name} depends on ${d}`).toContain(d);
      for (const v of s.volumes ?? []) {
        if (typeof v !== 'string') continue;
        const src = v.split(':')[0] ?? '';
        if (src.startsWith('.'))
          expect(existsSync(`${ROOT}deploy/compose/${src}`), `${name}: ${src}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${src}`).toContain(src);
      }
    }
  });

  it('load-balances the gateways on /readyz with WebSocket-friendly timeouts', () => {
    const cfg = read('deploy/compose/haproxy.cfg');
    expect(cfg).toMatch(/option httpchk GET \/readyz/);
    expect(cfg).toMatch(/timeout tunnel\s+\d+h/);
    expect(cfg).not.toMatch(/^[^#\n]*shutdown-sessions/m);
    const servers = [...cfg.matchAll(/^\s*server \S+ ([\w-]+):(\d+) check/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const gateways = parleyServices.filter(([, s]) => s.environment?.SERVICE === 'gateway').map(([n]) => n);
    expect(servers.map(([h]) => h).sort()).toEqual(gateways.sort());
    for (const [, port] of servers) expect(port).toBe(CONTRACT.gateway.port);
  });
});

// ---- Dockerfile ---------------------------------------------------------------------------------

describe('Dockerfile', () => {
  const df = read('deploy/docker/Dockerfile');
  it('is multi-stage on Node 22, runs as non-root, has a /healthz HEALTHCHECK', () => {
    expect(df.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    expect(df).toMatch(/ARG NODE_IMAGE=node:22-/);
    expect(df).toMatch(/^USER node$/m);
    expect(df).toMatch(/^HEALTHCHECK .*\n?.*healthcheck\.mjs/m);
    expect(read('deploy/docker/healthcheck.mjs')).toContain('/healthz');
    expect(df).toContain('npm ci --omit=dev');
  });

  it('entry point and healthcheck know exactly the four services and their contract ports', () => {
    expect(read('deploy/docker/entry.mjs')).toContain(`['${SERVICES.join("', '")}']`);
    const hc = read('deploy/docker/healthcheck.mjs');
    for (const s of SERVICES) expect(hc).toContain(`${s}: ['${CONTRACT[s].env}', ${CONTRACT[s].port}]`);
  });
});

// ---- Kubernetes -----------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML; its shape is what the assertions check
type K8s = Record<string, any>;
const kustomization = yaml<{ resources: string[]; images: { name: string }[] }>(
  'deploy/k8s/kustomization.yaml',
);
const k8s: K8s[] = kustomization.resources.flatMap((r) => yamlDocs(`deploy/k8s/${r}`));
const kind = (k: string) => k8s.filter((d) => d.kind === k);
const configMap = kind('ConfigMap')[0] as K8s;
const secret = kind('Secret')[0] as K8s;

describe('kubernetes (kustomize)', () => {
  it('lists only files that exist, and every file in deploy/k8s is listed', () => {
    const files = listDir('deploy/k8s').filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('has a Deployment, Service and PodDisruptionBudget per service, and an HPA for gateways', () => {
    for (const svc of SERVICES) {
      for (const k of ['Deployment', 'Service', 'PodDisruptionBudget'])
        expect(
          kind(k).map((d) => d.metadata.name),
          k,
        ).toContain(svc);
    }
    const [hpa] = kind('HorizontalPodAutoscaler');
    expect(hpa?.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'gateway' });
    expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });

  it('deployments use the kustomize image, contract ports, probes on /readyz and /healthz', () => {
    for (const d of kind('Deployment')) {
      const svc = d.metadata.name as ServiceName;
      const c = d.spec.template.spec.containers[0];
      expect(
        kustomization.images.map((i) => i.name),
        svc,
      ).toContain(c.image);
      expect(c.args, svc).toEqual([svc]);
      expect(c.ports[0].containerPort, svc).toBe(CONTRACT[svc].port);
      expect(c.readinessProbe.httpGet, svc).toMatchObject({ path: '/readyz', port: 'http' });
      expect(c.livenessProbe.httpGet, svc).toMatchObject({ path: '/healthz', port: 'http' });
      expect(c.resources.requests.cpu && c.resources.requests.memory, svc).toBeTruthy();
      expect(c.resources.limits.memory, svc).toBeTruthy();
      expect(d.spec.template.spec.securityContext.runAsNonRoot, svc).toBe(true);
      expect(d.spec.selector.matchLabels, svc).toEqual(d.spec.template.metadata.labels);
    }
  });

  it('env names from the Deployment, ConfigMap and Secret are all declared by the service schema', () => {
    expect(configMap.metadata.name).toBe('parley-env');
    for (const d of kind('Deployment')) {
      const svc = d.metadata.name as ServiceName;
      const c = d.spec.template.spec.containers[0];
      expect(c.envFrom.map((e: K8s) => e.configMapRef?.name ?? e.secretRef?.name)).toEqual([
        configMap.metadata.name,
        secret.metadata.name,
      ]);
      const names = [
        ...c.env.map((e: K8s) => e.name),
        ...Object.keys(configMap.data),
        ...Object.keys(secret.stringData),
      ];
      expect(
        names.filter((n) => !envNames(svc).has(n)),
        svc,
      ).toEqual([]);
      expect(c.env.find((e: K8s) => e.name === CONTRACT[svc].env)?.value, svc).toBe(
        String(CONTRACT[svc].port),
      );
    }
  });

  it('refuses to start on the placeholder secret, and starts with a real one', () => {
    for (const svc of SERVICES) {
      const env = { ...configMap.data, SERVICE: svc, [CONTRACT[svc].env]: String(CONTRACT[svc].port) };
      expect(() => LOADERS[svc]({ ...env, ...secret.stringData }), svc).toThrow(/AUTH_JWT_SECRET/);
      expect(() => LOADERS[svc]({ ...env, ...secret.stringData }), svc).toThrow(ConfigError);
      expect(() => LOADERS[svc]({ ...env, AUTH_JWT_SECRET: SECRET }), svc).not.toThrow();
    }
  });

  it('gives gateways a grace period longer than preStop + DRAIN_PERIOD', () => {
    const d = kind('Deployment').find((x) => x.metadata.name === 'gateway') as K8s;
    const c0 = d.spec.template.spec.containers[0];
    const own = Object.fromEntries(
      c0.env.filter((e: K8s) => e.value !== undefined).map((e: K8s) => [e.name, e.value]),
    );
    const cfg = loadGatewayConfig({ ...configMap.data, ...own, AUTH_JWT_SECRET: SECRET });
    const c = d.spec.template.spec.containers[0];
    const preStopSec = Number(c.lifecycle.preStop.exec.command.at(-1));
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
      preStopSec + cfg.drainMs / 1000 + 5,
    );
  });

  it('Services and PDBs select their Deployment pods and target a declared port', () => {
    for (const svc of SERVICES) {
      const dep = kind('Deployment').find((d) => d.metadata.name === svc) as K8s;
      const labels = dep.spec.template.metadata.labels;
      const s = kind('Service').find((d) => d.metadata.name === svc) as K8s;
      expect(s.spec.selector, svc).toEqual(labels);
      expect(s.spec.ports[0].port, svc).toBe(CONTRACT[svc].port);
      const portNames = dep.spec.template.spec.containers[0].ports.map((p: K8s) => p.name);
      expect(portNames, svc).toContain(s.spec.ports[0].targetPort);
      const pdb = kind('PodDisruptionBudget').find((d) => d.metadata.name === svc) as K8s;
      expect(pdb.spec.selector.matchLabels, svc).toEqual(labels);
    }
  });

  it('probe paths are routes the gateway serves (200 from a running gateway)', async () => {
    const gw = await startGateway({ broker: new MemoryBroker() });
    try {
      const d = kind('Deployment').find((x) => x.metadata.name === 'gateway') as K8s;
      const c = d.spec.template.spec.containers[0];
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        const res = await fetch(`${gw.http}${probe.httpGet.path}`);
        expect(res.status, probe.httpGet.path).toBe(200);
      }
    } finally {
      await gw.stop();
    }
  });
});

// ---- Prometheus and Grafana -------------------------------------------------------------------------

describe('prometheus', () => {
  const prom = yaml<{ scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(
    'deploy/prometheus/prometheus.yml',
  );
  it('scrapes every Parley service in compose at its contract port', () => {
    const targets = prom.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets));
    for (const [name, s] of parleyServices) {
      const svc = s.environment?.SERVICE as ServiceName;
      expect(targets, name).toContain(`${name}:${CONTRACT[svc].port}`);
    }
    for (const t of targets) expect(Object.keys(compose.services), t).toContain(t.split(':')[0]);
  });
});

describe('grafana', () => {
  it('dashboard JSON parses and is what gen-dashboard.mjs generates (not stale)', () => {
    const committed = JSON.parse(read('deploy/grafana/dashboards/parley.json'));
    expect(committed).toEqual(dashboard());
  });

  it('datasource uid of the panels is the provisioned one', () => {
    const ds = yaml<{ datasources: { uid: string; url: string }[] }>(
      'deploy/grafana/provisioning/datasources/prometheus.yaml',
    );
    const d = JSON.parse(read('deploy/grafana/dashboards/parley.json'));
    const uids = new Set(d.panels.filter((p: K8s) => p.datasource).map((p: K8s) => p.datasource.uid));
    expect([...uids]).toEqual([ds.datasources[0]?.uid]);
    expect(ds.datasources[0]?.url).toBe('http://prometheus:9090');
    expect(Object.keys(compose.services)).toContain('prometheus');
  });

  it('covers the panels the brief asks for', () => {
    const exprs = dashboardQueries()
      .map((q) => q.expr)
      .join('\n');
    for (const m of [
      'parley_gateway_connections',
      'parley_gateway_frames_in_total',
      'parley_gateway_deliveries_total',
      'parley_gateway_publish_ack_ms_bucket',
      'parley_gateway_publish_deliver_ms_bucket',
      'parley_gateway_errors_total',
      'parley_gateway_closes_total',
      'parley_gateway_slow_consumer_closes_total',
      'parley_history_kafka_lag',
      'parley_history_persist_lag_ms_bucket',
      'parley_presence_online_users',
      'parley_notify_requests_total',
    ])
      expect(exprs, m).toContain(m);
  });

  it('every metric a query reads is declared in some service metrics.ts (or is a Node default)', () => {
    const declared = new Set<string>();
    for (const svc of SERVICES)
      for (const m of read(`services/${svc}/src/metrics.ts`).matchAll(/['"](parley_[a-z0-9_]+)['"]/g))
        if (m[1]) declared.add(m[1]);
    return createRegistry('t', 't')
      .metrics()
      .then((text) => {
        const defaults = exposedNames(text);
        const exp = { declared: new Set([...declared, ...defaults.declared]), sampled: defaults.sampled };
        const missing = dashboardQueries().flatMap((q) =>
          promqlMetricNames(q.expr)
            .filter((n) => !isExported(n, exp))
            .map((n) => `${q.panel}: ${n}`),
        );
        expect(missing).toEqual([]);
      });
  });

  it('promqlMetricNames finds metrics and skips functions, labels and durations', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (le, code) (rate(a_ms_bucket{stage="w",x=~"y"}[5m]))) / sum without (instance) (b_total offset 5m) + on(job) c',
      ).sort(),
    ).toEqual(['a_ms_bucket', 'b_total', 'c']);
    expect(isExported('a_ms_bucket', { declared: new Set(['a_ms']), sampled: new Set() })).toBe(true);
    expect(isExported('nope_total', { declared: new Set(['a_ms']), sampled: new Set() })).toBe(false);
  });
});
