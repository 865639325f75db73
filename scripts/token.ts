/**
 * Prints a development JWT (HS256) for the demo page, wscat and manual testing:
 *   npm run token -- --sub alice --rooms '*' [--name Alice] [--pub 'a,b'] [--scope 'admin notify:send']
 *                    [--ttl 3600] [--secret S]
 * Signs with --secret, else AUTH_JWT_SECRET, else the dev secret (with a warning on stderr); sets iss
 * and aud from AUTH_ISSUER and AUTH_AUDIENCE when those are set, so the token matches the services.
 */
import { parseArgs } from 'node:util';
import { DEV_SECRET, HS_MIN_SECRET_BYTES, SUB_MAX, signToken, type TokenClaims } from '@parley/auth';
import { f, loadConfig } from '@parley/config';

const USAGE =
  "usage: npm run token -- --sub <user> [--rooms 'a,team-*'] [--name <name>] [--pub 'a,b']\n" +
  "                        [--scope 'admin notify:send'] [--ttl <seconds>] [--secret <secret>]";

class FlagError extends Error {}

const envSchema = {
  secret: f.str('AUTH_JWT_SECRET', 'HS256 secret the services verify with', { secret: true }),
  issuer: f.str('AUTH_ISSUER', 'expected iss claim'),
  audience: f.str('AUTH_AUDIENCE', 'expected aud claim'),
};

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function parseFlags(argv: string[]): { claims: TokenClaims; ttlSec: number; secret: string | undefined } {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  const sub = values.sub;
  if (!sub) throw new FlagError('--sub: required (the user id)');
  if (sub.length > SUB_MAX) throw new FlagError(`--sub: at most ${SUB_MAX} characters`);
  const ttl = values.ttl ?? '3600';
  if (!/^[1-9]\d*$/.test(ttl))
    throw new FlagError(`--ttl: must be a positive whole number of seconds (got "${ttl}")`);
  if (values.secret === '') throw new FlagError('--secret: must not be empty');
  const claims: TokenClaims = { sub };
  if (values.name !== undefined) claims.name = values.name;
  if (values.rooms !== undefined) claims.rooms = list(values.rooms);
  if (values.pub !== undefined) claims.pub = list(values.pub);
  if (values.scope !== undefined) claims.scope = values.scope.trim();
  return { claims, ttlSec: Number(ttl), secret: values.secret };
}

function parse(argv: string[]) {
  const text = { type: 'string' } as const;
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { sub: text, rooms: text, name: text, pub: text, scope: text, ttl: text, secret: text },
  });
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const env = loadConfig(envSchema, process.env);
  let secret = flags.secret ?? env.secret;
  if (secret && Buffer.byteLength(secret) < HS_MIN_SECRET_BYTES) {
    const source = flags.secret ? '--secret' : 'AUTH_JWT_SECRET';
    throw new FlagError(`${source}: must be at least ${HS_MIN_SECRET_BYTES} bytes for HS256`);
  }
  if (!secret) {
    process.stderr.write(
      'token: WARNING signing with the public dev secret; set AUTH_JWT_SECRET outside dev\n',
    );
    secret = DEV_SECRET;
  }
  const opts = { ttlSec: flags.ttlSec, issuer: env.issuer, audience: env.audience };
  process.stdout.write(`${await signToken(secret, flags.claims, opts)}\n`);
}

main().catch((err: unknown) => {
  const usage = err instanceof FlagError ? `\n${USAGE}` : '';
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`token: ${message}${usage}\n`);
  process.exit(2);
});
