export { type HistoryConfig, historySchema, loadHistoryConfig } from './config.ts';
export { type HistoryDeps, HistoryService } from './service.ts';
export type { HistoryStats } from './stats.ts';
