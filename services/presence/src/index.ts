export { loadPresenceConfig, type PresenceConfig, presenceSchema } from './config.ts';
export { type PresenceDeps, PresenceService } from './service.ts';
