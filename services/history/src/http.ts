/**
 * The history service's HTTP surface (ARCHITECTURE §5): `GET /v1/rooms/{room}/messages` for admins,
 * health, readiness and metrics. Errors are JSON `{"error": "<field>: <problem>"}`; authentication is
 * checked before input, so an unauthenticated caller learns nothing about valid ids.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bearerToken, hasScope, type Verifier } from '@parley/auth';
import type { Logger } from '@parley/log';
import type { Registry } from '@parley/metrics';
import { isStoreUnavailable } from '@parley/store';
import type { Queries } from './query.ts';
import { BadRequest, queryInt } from './validate.ts';

export interface HttpDeps {
  queries: Queries;
  verifier: Verifier;
  registry: Registry;
  maxPage: number;
  /** Resolves with the readiness detail, rejects (or says not ready) when a dependency is down. */
  ready: () => Promise<{ ready: boolean; detail: Record<string, unknown> }>;
  log: Logger;
}

/** Status, body (JSON-encoded unless a content type is given for a text body), content type. */
type Reply = [status: number, body: unknown, type?: string];

const DEFAULT_LIMIT = 50;
const MESSAGES_PATH = /^\/v1\/rooms\/([^/]+)\/messages$/;

export function createHttpServer(d: HttpDeps): Server {
  return createServer((req, res) => {
    route(d, req)
      .catch((err: unknown): Reply => {
        d.log.error({ err: String(err), url: req.url }, 'http handler failed');
        return [500, { error: 'internal error' }];
      })
      .then(([status, body, type]) => send(res, status, body, type));
  });
}

async function route(d: HttpDeps, req: IncomingMessage): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://history');
  const path = url.pathname;
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics' || MESSAGES_PATH.test(path);
  if (!known) return [404, { error: `path: ${path.slice(0, 100)} not found` }];
  if (req.method !== 'GET' && req.method !== 'HEAD') return [405, { error: 'method: only GET' }];
  if (path === '/healthz') return [200, { status: 'ok' }];
  if (path === '/readyz') {
    const r = await d.ready();
    return [r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r.detail }];
  }
  if (path === '/metrics') return [200, await d.registry.metrics(), d.registry.contentType];
  return messages(d, req, url);
}

async function messages(d: HttpDeps, req: IncomingMessage, url: URL): Promise<Reply> {
  const token = bearerToken(req.headers.authorization, url.searchParams.get('token') ?? undefined);
  try {
    if (!hasScope(await d.verifier.verify(token), 'admin'))
      return [403, { error: 'authorization: admin scope required' }];
  } catch (err) {
    return [401, { error: `authorization: ${(err as Error).message}` }];
  }
  try {
    const raw = MESSAGES_PATH.exec(url.pathname)?.[1] ?? '';
    const room = decode(raw);
    const before = queryInt('before', url.searchParams.get('before'), 1, Number.MAX_SAFE_INTEGER);
    const limit = queryInt('limit', url.searchParams.get('limit'), 1, d.maxPage) ?? DEFAULT_LIMIT;
    const page = await d.queries.page(room, before, limit);
    return [200, { room, messages: page.messages, more: page.more }];
  } catch (err) {
    if (err instanceof BadRequest) return [400, { error: err.message }];
    if (isStoreUnavailable(err)) return [503, { error: 'store: unavailable, retry later' }];
    throw err;
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequest('room: bad percent-encoding in the path');
  }
}

function send(res: ServerResponse, status: number, body: unknown, type?: string): void {
  const text = typeof body === 'string' && type ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type ?? 'application/json' });
  res.end(text);
}
