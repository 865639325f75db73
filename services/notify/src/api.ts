/**
 * The HTTP API on NOTIFY_PORT (ARCHITECTURE §5, openapi.yaml): POST /v1/notifications with a
 * service JWT (scope notify:send), health, readiness and metrics. Every error is a JSON
 * `{"error":"<field>: <problem>"}`. A 202 is sent only after every recipient's row is stored.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerToken, hasScope, type Identity, type Verifier } from '@parley/auth';
import type { Logger } from '@parley/log';
import type { NotifyMetrics } from './metrics.ts';
import type { Notifier } from './notifier.ts';
import { parseNotifyJson } from './request.ts';

export interface ApiOptions {
  verifier: Verifier;
  notifier: Notifier;
  metrics: NotifyMetrics;
  log: Logger;
  maxBodyBytes: number;
  maxUsers: number;
  /** Resolves with a failure message when the service cannot serve (readiness), else undefined. */
  notReady(): Promise<string | undefined>;
}

type Reply = [status: number, body: unknown];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class NotifyApi {
  readonly #server: Server;
  #inFlight = 0;
  readonly #verified = new VerifiedTokens();

  constructor(private readonly o: ApiOptions) {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Listens; resolves with the bound port (port 0 = any free port). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting connections and resolves when in-flight requests have been answered. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    while (this.#inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight++;
    let reply: Reply;
    try {
      reply = await this.#route(req);
    } catch (e) {
      reply = e instanceof HttpError ? [e.status, { error: e.message }] : this.#failed(e);
    } finally {
      this.#inFlight--;
    }
    if (res.headersSent) return;
    if (reply[0] === 200 && typeof reply[1] === 'string') {
      res.writeHead(200, { 'content-type': this.o.metrics.registry.contentType }).end(reply[1]);
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (reply[0] === 413) headers.connection = 'close';
    res.writeHead(reply[0], headers).end(JSON.stringify(reply[1]));
  }

  async #route(req: IncomingMessage): Promise<Reply> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/v1/notifications') {
      if (req.method !== 'POST') throw new HttpError(405, 'method: use POST');
      return this.#notify(req);
    }
    if (req.method === 'GET' && path === '/healthz') return [200, { status: 'ok' }];
    if (req.method === 'GET' && path === '/readyz') {
      const problem = await this.o.notReady();
      return problem === undefined
        ? [200, { status: 'ready' }]
        : [503, { status: 'not ready', error: problem }];
    }
    if (req.method === 'GET' && path === '/metrics') return [200, await this.o.metrics.registry.metrics()];
    throw new HttpError(404, `path: ${path} not found`);
  }

  async #notify(req: IncomingMessage): Promise<Reply> {
    const count = (result: string) => this.o.metrics.requests.inc({ source: 'http', result });
    try {
      await this.#authorize(req);
      const parsed = parseNotifyJson(await this.#body(req), this.o.maxUsers);
      if (!parsed.ok) throw new HttpError(400, parsed.error);
      const t0 = performance.now();
      const key = parsed.input.idempotencyKey;
      const { replayed, ...answer } = await this.o.notifier.accept(
        parsed.input,
        key === undefined ? undefined : `key:${key}`,
      );
      this.o.metrics.acceptLatency.observe(performance.now() - t0);
      count(replayed ? 'replayed' : 'accepted');
      return [202, answer];
    } catch (e) {
      count(e instanceof HttpError ? (RESULT[e.status] ?? 'invalid') : 'failed');
      throw e;
    }
  }

  async #authorize(req: IncomingMessage): Promise<void> {
    const token = bearerToken(req.headers.authorization, undefined);
    let identity = token === undefined ? undefined : this.#verified.get(token);
    if (identity === undefined) {
      try {
        identity = await this.o.verifier.verify(token);
      } catch (e) {
        throw new HttpError(401, `authorization: ${(e as Error).message}`);
      }
      if (token !== undefined) this.#verified.set(token, identity);
    }
    if (!hasScope(identity, 'notify:send'))
      throw new HttpError(403, 'authorization: the token lacks scope notify:send');
  }

  /**
   * The body as text, refused with 413 as soon as it is known to exceed the limit; the rest of an
   * oversize body is never buffered (the reply closes the connection).
   */
  #body(req: IncomingMessage): Promise<string> {
    const max = this.o.maxBodyBytes;
    const tooLarge = () => new HttpError(413, `request: body larger than ${max} bytes`);
    if (Number(req.headers['content-length'] ?? 0) > max) return Promise.reject(tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size <= max) return void chunks.push(chunk);
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
      };
      req.on('data', onData);
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  #failed(e: unknown): Reply {
    this.o.log.error({ err: e }, 'notification request failed');
    return [
      503,
      { error: `store: unavailable, retry with the same idempotencyKey (${(e as Error).message})` },
    ];
  }
}

/**
 * Tokens verified in the last minute. Producers send every request with the same service token,
 * and verifying it (HMAC, two base64 JSON decodes) was ~7 % of notify's CPU at 1,300 requests/s.
 * An entry is used only until the token's own exp, and for at most a minute, so a verifier whose
 * keys change (JWKS) sees every token again within a minute. Only successes are kept.
 */
class VerifiedTokens {
  static readonly MAX = 256;
  static readonly TTL_MS = 60_000;
  #map = new Map<string, { identity: Identity; until: number }>();

  get(token: string): Identity | undefined {
    const hit = this.#map.get(token);
    if (hit === undefined) return undefined;
    if (Date.now() < hit.until) return hit.identity;
    this.#map.delete(token);
    return undefined;
  }

  set(token: string, identity: Identity): void {
    if (this.#map.size >= VerifiedTokens.MAX) this.#map.clear(); // many distinct tokens: just verify each
    this.#map.set(token, {
      identity,
      until: Math.min(identity.exp * 1000, Date.now() + VerifiedTokens.TTL_MS),
    });
  }
}

const RESULT: Record<number, string> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  413: 'too_large',
};
