/**
 * Presence queries: PresenceRequest over NATS (`presence.query`, queue group `presence`, so any
 * ready instance answers) and the admin HTTP API on PRESENCE_PORT, plus health, readiness and
 * metrics. HTTP errors are `{"error": "<field>: <problem>"}`; a bad request never throws out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bearerToken, hasScope, type Verifier } from '@parley/auth';
import type { BusMsg } from '@parley/bus';
import type { Registry } from '@parley/metrics';
import type { PresenceRequest, ServiceReply } from '@parley/protocol';
import type { PresenceTracker } from './tracker.ts';
import { decodeRequest, isRoomId, isUserId } from './validate.ts';

export function answer(tracker: PresenceTracker, req: PresenceRequest, maxUsers: number): unknown {
  switch (req.op) {
    case 'room':
      return tracker.room(req.room, maxUsers);
    case 'user':
      return tracker.user(req.user);
    case 'users':
      return { statuses: Object.fromEntries(req.users.map((u) => [u, tracker.status(u)])) };
  }
}

/** The NATS handler: every request gets a ServiceReply, a malformed one `bad_request`. */
export function natsQueryHandler(tracker: PresenceTracker, maxUsers: number) {
  return (msg: BusMsg): void => {
    const req = decodeRequest(msg.string());
    const reply: ServiceReply<unknown> = req.ok
      ? { ok: true, result: answer(tracker, req.value, maxUsers) }
      : { ok: false, code: 'bad_request', message: req.problem };
    msg.respond(JSON.stringify(reply));
  };
}

export interface HttpDeps {
  tracker: PresenceTracker;
  verifier: Verifier;
  registry: Registry;
  maxUsers: number;
  /** Rebuilt from the gateways, and the bus answers. */
  ready(): Promise<boolean>;
}

type Reply = [status: number, body: unknown, type?: string];

const ROOM_PATH = /^\/v1\/rooms\/([^/]+)\/presence$/;
const USER_PATH = /^\/v1\/users\/([^/]+)\/presence$/;

export function createHttpServer(deps: HttpDeps): Server {
  return createServer((req, res) => {
    route(deps, req).then(
      (r) => send(res, r),
      (e: Error) => send(res, [500, { error: `internal: ${e.message}` }]),
    );
  });
}

async function route(deps: HttpDeps, req: IncomingMessage): Promise<Reply> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method !== 'GET') return [405, { error: `method: ${req.method} is not allowed` }];
  if (path === '/healthz') return [200, { status: 'ok' }];
  if (path === '/readyz')
    return (await deps.ready()) ? [200, { status: 'ready' }] : [503, { status: 'not ready' }];
  if (path === '/metrics') return [200, await deps.registry.metrics(), deps.registry.contentType];
  const room = ROOM_PATH.exec(path)?.[1];
  const user = USER_PATH.exec(path)?.[1];
  if (room === undefined && user === undefined) return [404, { error: `path: ${path} not found` }];
  const denied = await adminDenied(deps.verifier, req.headers.authorization);
  if (denied) return denied;
  const id = decode(room ?? user!);
  if (room !== undefined) {
    if (!isRoomId(id)) return [400, { error: 'room: not a valid room id' }];
    return [200, { room: id, ...deps.tracker.room(id, deps.maxUsers) }];
  }
  if (!isUserId(id)) return [400, { error: 'user: not a valid user id' }];
  return [200, deps.tracker.user(id)];
}

async function adminDenied(
  verifier: Verifier,
  authorization: string | undefined,
): Promise<Reply | undefined> {
  try {
    const identity = await verifier.verify(bearerToken(authorization, undefined));
    return hasScope(identity, 'admin') ? undefined : [403, { error: 'authorization: admin scope required' }];
  } catch (e) {
    return [401, { error: `authorization: ${(e as Error).message}` }];
  }
}

/** A path segment as an id; undefined when its percent-encoding is broken. */
function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, [status, body, type]: Reply): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type ?? 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
