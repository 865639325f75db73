/**
 * Field constructors for config schemas. Each returns a `Field` whose value type says whether the
 * loaded value can be absent: a field with a plain `default` or `required: true` is never undefined.
 */
import type { Env, Field } from './config.ts';

interface Base<T> {
  default?: T | ((env: Env) => T | undefined);
  required?: boolean;
  secret?: boolean;
}

/** The loaded type: present when required or defaulted by value, else possibly undefined. */
type Out<T, O> = O extends { required: true } ? T : O extends { default: T } ? T : T | undefined;

function field<T, O extends Base<T>>(
  env: string,
  doc: string,
  opts: O | undefined,
  parse: (raw: string) => T,
) {
  return {
    env,
    doc,
    parse,
    default: opts?.default,
    required: opts?.required,
    secret: opts?.secret,
  } as Field<Out<T, O>>;
}

function parseInteger(raw: string, min: number | undefined, max: number | undefined): number {
  const s = raw.trim();
  const n = Number(s);
  if (
    !/^[-+]?\d+$/.test(s) ||
    !Number.isSafeInteger(n) ||
    (min !== undefined && n < min) ||
    (max !== undefined && n > max)
  ) {
    if (min !== undefined && max !== undefined)
      throw new Error(`must be an integer between ${min} and ${max}`);
    if (min !== undefined) throw new Error(`must be an integer >= ${min}`);
    if (max !== undefined) throw new Error(`must be an integer <= ${max}`);
    throw new Error('must be an integer');
  }
  return n;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function parseBool(raw: string): boolean {
  const s = raw.trim().toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new Error('must be true or false (also 1/0, yes/no, on/off)');
}

function parseUrl(raw: string, protocols: readonly string[] | undefined): string {
  const s = raw.trim();
  const wanted = protocols?.map((p) => (p.endsWith(':') ? p : `${p}:`));
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new Error(wanted ? `must be a URL (${wanted.join(' or ')})` : 'must be a URL');
  }
  if (wanted && !wanted.includes(url.protocol))
    throw new Error(`must be a URL with protocol ${wanted.join(' or ')}`);
  return s;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** '500ms' | '2s' | '5m' | '1h' | plain milliseconds; fractions allowed ('1.5s'), rounded to whole ms. */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new Error('must be a duration like 500ms, 2s, 5m, 1h or a number of milliseconds');
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1));
}

export const f = {
  int<O extends Base<number> & { min?: number; max?: number }>(env: string, doc: string, opts?: O) {
    return field(env, doc, opts, (raw) => parseInteger(raw, opts?.min, opts?.max));
  },
  /** Taken verbatim (not trimmed): secrets and patterns may depend on every character. */
  str<O extends Base<string> & { pattern?: RegExp }>(env: string, doc: string, opts?: O) {
    return field(env, doc, opts, (raw) => {
      if (opts?.pattern && !opts.pattern.test(raw)) throw new Error(`must match ${opts.pattern}`);
      return raw;
    });
  },
  bool<O extends Base<boolean>>(env: string, doc: string, opts?: O) {
    return field(env, doc, opts, parseBool);
  },
  /** Returns the URL as written (trimmed); `protocols` like ['nats', 'tls'] or ['http:', 'https:']. */
  url<O extends Base<string> & { protocols?: readonly string[] }>(env: string, doc: string, opts?: O) {
    return field(env, doc, opts, (raw) => parseUrl(raw, opts?.protocols));
  },
  /** Comma separated; items trimmed, empty items dropped. */
  list<O extends Base<readonly string[]>>(env: string, doc: string, opts?: O) {
    return field(env, doc, opts, (raw): readonly string[] =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
  },
  enumOf<const V extends readonly string[], O extends Base<V[number]>>(
    env: string,
    doc: string,
    values: V,
    opts?: O,
  ) {
    return field(env, doc, opts, (raw): V[number] => {
      const s = raw.trim();
      if (!values.includes(s)) throw new Error(`must be one of: ${values.join(', ')}`);
      return s;
    });
  },
  /** A duration in milliseconds. */
  ms<O extends Base<number>>(env: string, doc: string, opts?: O) {
    return field(env, doc, opts, parseDuration);
  },
};
