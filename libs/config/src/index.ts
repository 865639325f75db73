export {
  authFields,
  authProblems,
  brokerFields,
  chatWindowFields,
  chatWindowProblems,
  commonFields,
  usesDevSecret,
} from './common.ts';
export {
  ConfigError,
  type ConfigOf,
  describeConfig,
  type Env,
  type Field,
  type FieldDescription,
  loadConfig,
} from './config.ts';
export { f, parseDuration } from './fields.ts';
