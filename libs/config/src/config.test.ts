import { describe, expect, it } from 'vitest';
import { ConfigError, chatWindowProblems, describeConfig, f, loadConfig, parseDuration } from './index.ts';

const schema = {
  port: f.int('GATEWAY_PORT', 'gateway port', { default: 8080, min: 1, max: 65535 }),
  nats: f.url('NATS_URL', 'NATS server URL', { protocols: ['nats', 'tls'] }),
  secret: f.str('AUTH_JWT_SECRET', 'HS256 secret', {
    secret: true,
    required: true,
    default: (env) => (env.NODE_ENV === 'production' ? undefined : 'dev-secret'),
  }),
  origins: f.list('ALLOWED_ORIGINS', 'allowed Origin headers', { default: [] }),
  level: f.enumOf('LOG_LEVEL', 'log level', ['debug', 'info', 'warn'], { default: 'info' }),
  drain: f.ms('DRAIN_MS', 'drain period', { default: 30_000 }),
  tls: f.bool('TLS', 'serve TLS'),
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults, including computed ones, and leaves optional fields undefined', () => {
    const c = loadConfig(schema, {});
    expect(c).toEqual({
      port: 8080,
      nats: undefined,
      secret: 'dev-secret',
      origins: [],
      level: 'info',
      drain: 30_000,
      tls: undefined,
    });
  });

  it('parses every kind of field', () => {
    const c = loadConfig(schema, {
      GATEWAY_PORT: ' 9000 ',
      NATS_URL: 'nats://a:4222',
      AUTH_JWT_SECRET: 's3cret',
      ALLOWED_ORIGINS: ' https://a.example , ,https://b.example,',
      LOG_LEVEL: 'warn',
      DRAIN_MS: '2s',
      TLS: 'YES',
    });
    expect(c).toEqual({
      port: 9000,
      nats: 'nats://a:4222',
      secret: 's3cret',
      origins: ['https://a.example', 'https://b.example'],
      level: 'warn',
      drain: 2000,
      tls: true,
    });
  });

  it('treats an empty string as unset', () => {
    expect(loadConfig(schema, { GATEWAY_PORT: '' }).port).toBe(8080);
  });

  it('freezes the result and its arrays', () => {
    const c = loadConfig(schema, { ALLOWED_ORIGINS: 'a,b' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.origins)).toBe(true);
  });

  it('collects every problem into one error, one line each', () => {
    const env = {
      NODE_ENV: 'production',
      GATEWAY_PORT: 'abc',
      NATS_URL: 'http://x',
      LOG_LEVEL: 'loud',
      DRAIN_MS: 'soon',
      TLS: 'maybe',
    };
    expect(problemsOf(() => loadConfig(schema, env))).toEqual([
      'GATEWAY_PORT: must be an integer between 1 and 65535 (got "abc")',
      'NATS_URL: must be a URL with protocol nats: or tls: (got "http://x")',
      'AUTH_JWT_SECRET: required (HS256 secret)',
      'LOG_LEVEL: must be one of: debug, info, warn (got "loud")',
      'DRAIN_MS: must be a duration like 500ms, 2s, 5m, 1h or a number of milliseconds (got "soon")',
      'TLS: must be true or false (also 1/0, yes/no, on/off) (got "maybe")',
    ]);
    expect(() => loadConfig(schema, env)).toThrow(
      /^invalid configuration:\n {2}- GATEWAY_PORT: must be an integer between 1 and 65535 \(got "abc"\)\n {2}- NATS_URL/,
    );
  });

  it('rejects out-of-range and non-integer numbers', () => {
    for (const bad of ['0', '65536', '1.5', '1e3', '0x10']) {
      expect(problemsOf(() => loadConfig(schema, { GATEWAY_PORT: bad }))).toHaveLength(1);
    }
  });

  it('never echoes a secret value', () => {
    const s = { key: f.str('API_KEY', 'api key', { secret: true, pattern: /^k-/ }) };
    const problems = problemsOf(() => loadConfig(s, { API_KEY: 'hunter2-very-secret' }));
    expect(problems).toEqual(['API_KEY: must match /^k-/']);
  });

  it('masks credentials embedded in a bad URL', () => {
    const problems = problemsOf(() => loadConfig(schema, { NATS_URL: 'http://user:pw@host' }));
    expect(problems[0]).toContain('"http://***@host"');
    expect(problems[0]).not.toContain('pw');
  });

  it('never reads process.env', () => {
    process.env.GATEWAY_PORT_PROBE = '1';
    const c = loadConfig({ probe: f.int('GATEWAY_PORT_PROBE', 'probe') }, {});
    delete process.env.GATEWAY_PORT_PROBE;
    expect(c.probe).toBeUndefined();
  });
});

describe('field parsers', () => {
  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250')).toBe(250);
    expect(() => parseDuration('-1s')).toThrow(/duration/);
    expect(() => parseDuration('2 days')).toThrow(/duration/);
  });

  it('accepts url protocols with or without the colon and returns the URL as written', () => {
    const field = f.url('U', 'u', { protocols: ['https:'] });
    expect(field.parse(' https://x.example/jwks ')).toBe('https://x.example/jwks');
    expect(() => field.parse('not a url')).toThrow('must be a URL (https:)');
  });

  it('parses booleans in the usual spellings', () => {
    const b = f.bool('B', 'b');
    expect(['true', '1', 'on', 'Yes'].map(b.parse)).toEqual([true, true, true, true]);
    expect(['false', '0', 'off', 'NO'].map(b.parse)).toEqual([false, false, false, false]);
  });
});

describe('describeConfig', () => {
  it('lists every field with its default, hiding secrets and computed values', () => {
    expect(describeConfig(schema)).toEqual([
      { env: 'GATEWAY_PORT', doc: 'gateway port', default: '8080' },
      { env: 'NATS_URL', doc: 'NATS server URL' },
      { env: 'AUTH_JWT_SECRET', doc: 'HS256 secret', default: '(secret)' },
      { env: 'ALLOWED_ORIGINS', doc: 'allowed Origin headers', default: '' },
      { env: 'LOG_LEVEL', doc: 'log level', default: 'info' },
      { env: 'DRAIN_MS', doc: 'drain period', default: '30000' },
      { env: 'TLS', doc: 'serve TLS' },
    ]);
    const computed = { x: f.int('X', 'x', { default: () => 1 }) };
    expect(describeConfig(computed)).toEqual([{ env: 'X', doc: 'x', default: '(computed)' }]);
  });
});

describe('chatWindowProblems', () => {
  it('refuses a gateway letting more messages wait for the history feed than a room keeps', () => {
    expect(chatWindowProblems({ chatWindowMessages: 1000 })).toEqual([]);
    expect(chatWindowProblems({ chatWindowMessages: 1000, chatFeedMaxUncopied: 1000 })).toEqual([]);
    const [problem, ...rest] = chatWindowProblems({ chatWindowMessages: 100, chatFeedMaxUncopied: 101 });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^CHAT_FEED_MAX_UNCOPIED: 101 exceeds CHAT_WINDOW_MESSAGES \(100\)/);
  });
});
