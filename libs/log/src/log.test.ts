import { describe, expect, it } from 'vitest';
import { createLogger, createTestLogger, type DestinationStream } from './index.ts';

describe('createLogger', () => {
  it('writes JSON with service, instance, ISO time and the level label', () => {
    const written: string[] = [];
    const destination: DestinationStream = { write: (s: string) => void written.push(s) };
    const logger = createLogger({ service: 'gateway', instance: 'gw-1', level: 'debug', destination });
    logger.debug({ connId: 'c1' }, 'hello');
    logger.trace('below the level');
    expect(written).toHaveLength(1);
    const line = JSON.parse(written[0] ?? '');
    expect(line).toMatchObject({
      service: 'gateway',
      instance: 'gw-1',
      level: 'debug',
      connId: 'c1',
      msg: 'hello',
    });
    expect(new Date(line.time).toISOString()).toBe(line.time);
  });

  it('refuses an unknown level', () => {
    expect(() => createLogger({ service: 's', level: 'loud' })).toThrow(/loud/);
  });
});

describe('redaction', () => {
  it('censors credentials wherever the usual carriers put them', () => {
    const { logger, lines } = createTestLogger({ service: 'auth-test' });
    logger.info(
      {
        token: 't0',
        authorization: 'Bearer a0',
        secret: 's0',
        password: 'p0',
        jwt: 'j0',
        user: { token: 't1', secret: 's1', password: 'p1', authorization: 'a1', id: 'alice' },
        headers: { authorization: 'Bearer a2', host: 'h' },
        req: { headers: { authorization: 'Bearer a3', origin: 'o' } },
        ctx: { req: { headers: { authorization: 'Bearer a4' } } },
      },
      'connect',
    );
    const [line] = lines();
    const text = JSON.stringify(line);
    for (const leaked of ['t0', 'a0', 's0', 'p0', 'j0', 't1', 's1', 'p1', 'a1', 'a2', 'a3', 'a4']) {
      expect(text).not.toContain(`${leaked}"`);
    }
    expect(line).toMatchObject({
      service: 'auth-test',
      token: '[redacted]',
      user: { id: 'alice', token: '[redacted]' },
      headers: { host: 'h', authorization: '[redacted]' },
      req: { headers: { origin: 'o', authorization: '[redacted]' } },
      ctx: { req: { headers: { authorization: '[redacted]' } } },
    });
  });

  it('keeps capturing across child loggers', () => {
    const { logger, lines } = createTestLogger();
    logger.child({ connId: 'c9' }).warn({ password: 'x' }, 'child');
    expect(lines()).toEqual([
      expect.objectContaining({ connId: 'c9', password: '[redacted]', level: 'warn' }),
    ]);
  });
});
