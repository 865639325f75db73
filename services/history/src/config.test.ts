import { ConfigError } from '@parley/config';
import { describe, expect, it } from 'vitest';
import { loadHistoryConfig } from './config.ts';

describe('loadHistoryConfig', () => {
  it('defaults to port 8081 and the contract topic names', () => {
    const cfg = loadHistoryConfig({});
    expect(cfg.port).toBe(8081);
    expect(cfg.topic).toBe('chat.messages');
    expect(cfg.deadTopic).toBe('chat.messages.dead');
    expect(cfg.durable).toBe('history-bridge');
  });

  it('lists every bad field', () => {
    let problems: string[] = [];
    try {
      loadHistoryConfig({
        HISTORY_PORT: 'x',
        HISTORY_BRIDGE_BATCH: '0',
        HISTORY_RETRY_MIN: '5s',
        HISTORY_RETRY_MAX: '1s',
      });
    } catch (err) {
      if (err instanceof ConfigError) problems = err.problems;
    }
    expect(problems.map((p) => p.split(':')[0])).toEqual(['HISTORY_PORT', 'HISTORY_BRIDGE_BATCH']);
  });

  it('refuses a retry ceiling below the floor', () => {
    expect(() => loadHistoryConfig({ HISTORY_RETRY_MIN: '5s', HISTORY_RETRY_MAX: '1s' })).toThrow(
      /HISTORY_RETRY_MAX: must be >= HISTORY_RETRY_MIN/,
    );
  });
});
