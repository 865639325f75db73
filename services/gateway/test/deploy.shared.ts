/** Helpers for the deploy validation tests (deploy.test.ts, deploy.int.test.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const read = (rel: string) => readFileSync(`${ROOT}${rel}`, 'utf8');
/** Parses YAML with merge keys (`<<: *anchor`), as Docker Compose does. */
export const yaml = <T = unknown>(rel: string) => parseYaml(read(rel), { merge: true }) as T;
/** Every document of a multi-document YAML file; throws on the first parse error. */
export function yamlDocs(rel: string): Record<string, unknown>[] {
  return parseAllDocuments(read(rel)).map((d) => {
    if (d.errors.length > 0) throw new Error(`${rel}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Record<string, unknown>;
  });
}
export const listDir = (rel: string) => readdirSync(`${ROOT}${rel}`);

/** The port contract (ARCHITECTURE §5-6). */
export const CONTRACT = {
  gateway: { port: 8080, env: 'GATEWAY_PORT' },
  history: { port: 8081, env: 'HISTORY_PORT' },
  presence: { port: 8082, env: 'PRESENCE_PORT' },
  notify: { port: 8083, env: 'NOTIFY_PORT' },
} as const;
export type ServiceName = keyof typeof CONTRACT;
export const SERVICES = Object.keys(CONTRACT) as ServiceName[];

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * Metric names a PromQL expression reads: identifiers that are not functions, keywords, label
 * names (in matchers and by/without/on clauses) or range durations.
 */
export function promqlMetricNames(expr: string): string[] {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  e = e.replace(/\{[^}]*\}/g, '');
  e = e.replace(/\[[^\]]*\]/g, '');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of e.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = e.slice((m.index ?? 0) + m[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Names in a Prometheus text exposition: declared (# TYPE) and sampled. */
export function exposedNames(text: string): { declared: Set<string>; sampled: Set<string> } {
  const declared = new Set<string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) /.exec(line);
    if (t?.[1]) declared.add(t[1]);
    else if (line && !line.startsWith('#')) {
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
      if (name) sampled.add(name);
    }
  }
  return { declared, sampled };
}

/** True when a queried name is exported: as is, or as a histogram/summary's _bucket/_sum/_count. */
export function isExported(name: string, exp: { declared: Set<string>; sampled: Set<string> }): boolean {
  return (
    exp.declared.has(name) ||
    exp.sampled.has(name) ||
    exp.declared.has(name.replace(/_(bucket|sum|count)$/, ''))
  );
}

interface Dashboard {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
}

/** Every PromQL expression of the provisioned dashboards, with its panel title. */
export function dashboardQueries(): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  for (const f of listDir('deploy/grafana/dashboards').filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(read(`deploy/grafana/dashboards/${f}`)) as Dashboard;
    for (const p of d.panels)
      for (const t of p.targets ?? []) out.push({ panel: `${f}: ${p.title}`, expr: t.expr });
  }
  return out;
}
