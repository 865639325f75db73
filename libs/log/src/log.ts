/**
 * Structured JSON logs for every service: base fields {service, instance}, ISO timestamps, level as a
 * label, and credentials redacted wherever the usual carriers put them. Hot paths should not log;
 * redaction only covers the listed paths, so never log a raw token under another name.
 */
import { hostname } from 'node:os';
import { type DestinationStream, type Logger, pino } from 'pino';

export type { DestinationStream, Logger };

/** Paths censored in every log line (pino redact syntax: `*` is one level of any key). */
export const REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  '*.req.headers.authorization',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'jwt',
  '*.jwt',
];

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  service: string;
  /** Defaults to the host name (a pod name on Kubernetes). */
  instance?: string;
  /** pino level name; defaults to 'info'. */
  level?: string;
  /** Defaults to stdout. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { service: opts.service, instance: opts.instance ?? hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export interface TestLogger {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

/** A logger writing synchronously into memory, for asserting on log output in tests. */
export function createTestLogger(opts: Partial<LoggerOptions> = {}): TestLogger {
  const written: string[] = [];
  const destination: DestinationStream = { write: (line: string) => void written.push(line) };
  const logger = createLogger({ service: 'test', instance: 'test', level: 'trace', ...opts, destination });
  return { logger, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
