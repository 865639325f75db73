export { loadNotifyConfig, type NotifyConfig, notifySchema } from './config.ts';
export { type NotifyDeps, NotifyService } from './service.ts';
