/**
 * Typed configuration from an environment map. One schema per service: each field names its env
 * variable, documents itself in one line, parses its raw string and may carry a default.
 *
 * Guarantees: `loadConfig` never reads `process.env` (the caller passes the map, so tests never
 * mutate globals); it reports EVERY problem in one `ConfigError`, one line per field; the result is
 * frozen, arrays included; values of `secret` fields never appear in messages or descriptions.
 * An empty string counts as unset, so `FOO=` in an env file falls back to the default.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface Field<T> {
  env: string;
  doc: string;
  /** Throws an Error whose message says what is expected ("must be ..."); the loader adds the name. */
  parse(raw: string): T;
  /** A value, or a function of the whole environment (e.g. a dev secret outside production). */
  default?: T | ((env: Env) => T | undefined);
  required?: boolean;
  secret?: boolean;
}

export type ConfigOf<S> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function loadConfig<S extends Record<string, Field<unknown>>>(
  schema: S,
  env: Env,
): Readonly<ConfigOf<S>> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, field] of Object.entries(schema)) {
    const result = resolveField(field, env);
    if (result.ok) out[key] = Array.isArray(result.value) ? Object.freeze(result.value) : result.value;
    else problems.push(`${field.env}: ${result.problem}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

type Resolved = { ok: true; value: unknown } | { ok: false; problem: string };

function resolveField(field: Field<unknown>, env: Env): Resolved {
  const raw = env[field.env];
  if (raw === undefined || raw === '') {
    const value =
      typeof field.default === 'function' ? (field.default as (e: Env) => unknown)(env) : field.default;
    if (value === undefined && field.required) return { ok: false, problem: `required (${field.doc})` };
    return { ok: true, value };
  }
  try {
    return { ok: true, value: field.parse(raw) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, problem: field.secret ? reason : `${reason} (got ${echo(raw)})` };
  }
}

/** Quotes a bad value for a message: clipped, and URL credentials masked even in non-secret fields. */
function echo(raw: string): string {
  const masked = raw.replace(/\/\/[^/@\s]*@/g, '//***@');
  return JSON.stringify(masked.length > 80 ? `${masked.slice(0, 80)}…` : masked);
}

export interface FieldDescription {
  env: string;
  doc: string;
  default?: string;
}

/** One row per field for README tables and `--help`; computed defaults are described, not evaluated. */
export function describeConfig(schema: Record<string, Field<unknown>>): FieldDescription[] {
  return Object.values(schema).map((field) => {
    const row: FieldDescription = { env: field.env, doc: field.doc };
    if (field.default === undefined) return row;
    if (field.secret) row.default = '(secret)';
    else if (typeof field.default === 'function') row.default = '(computed)';
    else row.default = Array.isArray(field.default) ? field.default.join(',') : String(field.default);
    return row;
  });
}
