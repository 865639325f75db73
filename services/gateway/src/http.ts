/**
 * The gateway's HTTP routes: health, readiness (a real NATS round trip), metrics, the admin
 * disconnect API, the dev token endpoint (dev secret only) and the static pages.
 */

import type * as uWS from 'uWebSockets.js';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bearerToken, DEV_SECRET, hasScope, signToken } from '@parley/auth';
import { Subjects, type UserEvent } from '@parley/protocol';
import type { Ctx } from './context.ts';

export interface HttpHost {
  readonly ctx: Ctx;
  readonly draining: boolean;
}

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
/** `dir/name.ext` under public/: up to two folder levels, names of word characters and `-`. */
const STATIC_PATH = /^([\w-]+\/){0,2}[\w-]+(\.[\w-]+)*$/;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Runs an async handler with abort tracking; the reply is written corked, only if still connected. */
function later(
  res: uWS.HttpResponse,
  work: () => Promise<[status: string, type: string, body: string]>,
): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  work()
    .catch(
      (e: Error) =>
        ['500 Internal Server Error', 'application/json', JSON.stringify({ error: e.message })] as const,
    )
    .then(([status, type, body]) => {
      if (!aborted) res.cork(() => res.writeStatus(status).writeHeader('content-type', type).end(body));
    });
}

function sendFile(res: uWS.HttpResponse, file: string): void {
  later(res, async () => {
    try {
      return [
        '200 OK',
        TYPES[extname(file)] ?? 'application/octet-stream',
        await readFile(join(PUBLIC_DIR, file), 'utf8'),
      ];
    } catch {
      return ['404 Not Found', 'text/plain', `${file} not found`];
    }
  });
}

const json = (status: string, body: unknown): [string, string, string] => [
  status,
  'application/json',
  JSON.stringify(body),
];

export function routes(app: uWS.TemplatedApp, host: HttpHost): void {
  const { ctx } = host;
  app.get('/healthz', (res) => {
    res.writeHeader('content-type', 'application/json').end('{"status":"ok"}');
  });

  app.get('/readyz', (res) =>
    later(res, async () => {
      if (host.draining) return json('503 Service Unavailable', { status: 'draining' });
      try {
        const rtt = await ctx.bus.ping(1000);
        return json('200 OK', { status: 'ready', natsRttMs: rtt });
      } catch (e) {
        return json('503 Service Unavailable', { status: 'nats unreachable', error: (e as Error).message });
      }
    }),
  );

  app.get('/metrics', (res) =>
    later(res, async () => [
      '200 OK',
      ctx.metrics.registry.contentType,
      await ctx.metrics.registry.metrics(),
    ]),
  );

  app.post('/v1/users/:user/disconnect', (res, req) => {
    const user = decodeURIComponent(req.getParameter(0) ?? '');
    const token = bearerToken(req.getHeader('authorization') || undefined, undefined);
    later(res, async () => {
      let admin = false;
      try {
        admin = hasScope(await ctx.verifier.verify(token), 'admin');
      } catch (e) {
        return json('401 Unauthorized', { error: (e as Error).message });
      }
      if (!admin) return json('403 Forbidden', { error: 'admin scope required' });
      if (!user) return json('400 Bad Request', { error: 'user: required in the path' });
      const ev: UserEvent = { kind: 'disconnect', reason: 'disconnected by an administrator' };
      ctx.bus.publish(Subjects.user(user), JSON.stringify(ev));
      await ctx.bus.flush();
      return json('202 Accepted', { user, disconnected: true });
    });
  });

  // Dev tokens for the demo page: only while the well-known dev secret is in use (never in production).
  app.get('/v1/dev/token', (res, req) => {
    const sub = req.getQuery('sub') ?? '';
    later(res, async () => {
      if (ctx.cfg.authSecret !== DEV_SECRET)
        return json('404 Not Found', { error: 'dev tokens are disabled' });
      if (!/^[\w.@-]{1,64}$/.test(sub))
        return json('400 Bad Request', { error: 'sub: 1-64 letters, digits, . @ _ -' });
      const token = await signToken(
        DEV_SECRET,
        { sub, name: sub, rooms: ['*'], scope: 'admin' },
        { ttlSec: 12 * 3600 },
      );
      return json('200 OK', { token });
    });
  });

  app.get('/', (res) => sendFile(res, 'index.html'));
  app.get('/ops', (res) => sendFile(res, 'ops.html'));
  // The pages' scripts are ES modules in folders (/static/chat/main.js). STATIC_PATH admits no
  // `..`, dot-file or %-escape, so nothing outside public/ can be named.
  app.get('/static/*', (res, req) => {
    const file = req.getUrl().slice('/static/'.length);
    if (!STATIC_PATH.test(file)) return void res.writeStatus('404 Not Found').end();
    sendFile(res, file);
  });
  app.any('/*', (res) => {
    res
      .writeStatus('404 Not Found')
      .writeHeader('content-type', 'application/json')
      .end('{"error":"not found"}');
  });
}
