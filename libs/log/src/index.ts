export {
  createLogger,
  createTestLogger,
  type DestinationStream,
  type Logger,
  type LoggerOptions,
  REDACT_PATHS,
  REDACTED,
  type TestLogger,
} from './log.ts';
