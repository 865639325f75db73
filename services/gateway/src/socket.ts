/**
 * uWS WebSocket wiring: upgrade (auth, origin, capacity), open (welcome), message (decode and
 * dispatch), drain (congestion relief) and close (cleanup). Auth failures still upgrade and then
 * close with 4001, so a browser can tell "refused" from "network down".
 */

import type * as uWS from 'uWebSockets.js';
import { bearerToken } from '@parley/auth';
import { CloseCodes, decodeClientFrame, type RequestId, type ServerFrame } from '@parley/protocol';
import { clearTyping, commands, leaveRoom } from './commands/index.ts';
import { Conn, type SocketData } from './connection.ts';
import { type Ctx, fail } from './context.ts';
import { topics } from './fanout.ts';
import { UnreadOnConnect } from './notifications.ts';

export interface SocketHost {
  readonly ctx: Ctx;
  readonly conns: Set<Conn>;
  readonly draining: boolean;
  originAllowed(origin: string): boolean;
}

const utf8 = new TextDecoder();

type WelcomeFrame = Extract<ServerFrame, { type: 'welcome' }>;

export function socketBehavior(host: SocketHost): uWS.WebSocketBehavior<SocketData> {
  const { ctx } = host;
  const { cfg } = ctx;
  const unreadOnConnect = new UnreadOnConnect(ctx);
  // The welcome frame's fields that are the same for every connection, serialised once.
  const welcomeRest = JSON.stringify({
    heartbeatMs: cfg.heartbeatMs,
    protocol: 1,
    limits: {
      frameBytes: cfg.frameBytes,
      bodyChars: cfg.bodyChars,
      bodyObjectBytes: cfg.bodyObjectBytes,
      roomsPerConnection: cfg.roomsPerConnection,
      publishPerSecond: cfg.publishPerSecond,
      publishBurst: cfg.publishBurst,
      typingPerSecond: cfg.typingPerSecond,
      connectionsPerUser: cfg.connectionsPerUser,
    },
  } satisfies Omit<WelcomeFrame, 'type' | 'connId' | 'userId' | 'serverTime'>).slice(1);
  const decodeOptions = {
    limits: { bodyChars: cfg.bodyChars, bodyObjectBytes: cfg.bodyObjectBytes },
    maxRoomMembers: cfg.maxRoomMembers,
  };
  return {
    compression: 0, // uWS.DISABLED: per-message deflate costs more CPU than it saves on small chat frames
    // uWS drops a connection abruptly (1006) past maxPayloadLength, so it is set above the limit
    // and frames over LIMIT_FRAME_BYTES get the contract's 1009 from message(); only a frame over
    // four times the limit is cut off without a close frame.
    maxPayloadLength: cfg.frameBytes * 4,
    // Hard cap well above SEND_BUFFER_LIMIT: the sweep closes slow sockets with 4010 first; this
    // only guarantees uWS closes rather than silently skipping chat messages if the sweep is late.
    maxBackpressure: cfg.sendBufferBytes * 4,
    closeOnBackpressureLimit: true,
    idleTimeout: Math.max(8, Math.ceil((cfg.heartbeatMs * 2) / 4000) * 4),
    sendPingsAutomatically: true,

    upgrade: (res, req, context) => {
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const origin = req.getHeader('origin');
      const token = bearerToken(
        req.getHeader('authorization') || undefined,
        req.getQuery('token') || undefined,
      );
      if (host.draining)
        return refuse(res, '503 Service Unavailable', 'gateway is draining; reconnect elsewhere');
      if (origin && !host.originAllowed(origin)) return refuse(res, '403 Forbidden', 'origin not allowed');
      if (host.conns.size >= cfg.connectionsPerInstance)
        return refuse(res, '503 Service Unavailable', 'gateway is full');
      // Every key source verifies synchronously (HS256, PEM, JWKS keys already fetched), so the
      // upgrade happens inside this callback, which uWS corks itself.
      let verdict: SocketData | undefined;
      try {
        const identity = ctx.verifier.verifySync(token);
        if (identity) verdict = { identity };
      } catch (e) {
        verdict = { authError: (e as Error).message.slice(0, 100) };
      }
      if (verdict) return res.upgrade(verdict, key, protocol, extensions, context);
      // A JWKS token whose kid was not seen yet: the key is fetched first (once per kid and cache age).
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      ctx.verifier.verify(token).then(
        (identity) => upgrade({ identity }),
        (e: Error) => upgrade({ authError: e.message.slice(0, 100) }),
      );
      function upgrade(data: SocketData) {
        if (aborted) return;
        // Not wrapped in res.cork(): with this uWS build an upgrade inside cork sometimes closed the
        // new socket with 1006 right after open (~25% of fresh processes, 0 of 32 without cork).
        // uWS warns on stderr for an uncorked upgrade; only a JWKS key fetch leads here.
        res.upgrade(data, key, protocol, extensions, context);
      }
    },

    open: (ws) => {
      const data = ws.getUserData();
      if (!data.identity) {
        ctx.metrics.closes.inc({ code: CloseCodes.unauthorized.code });
        ws.end(CloseCodes.unauthorized.code, data.authError ?? 'unauthorized');
        return;
      }
      const conn = new Conn(ws, data.identity, ctx.gatewayId, ctx.metrics.framesOut);
      data.identity = undefined;
      const mine = ctx.users.get(conn.userId) ?? [];
      if (mine.length >= cfg.connectionsPerUser) {
        conn.end(CloseCodes.policy.code, `at most ${cfg.connectionsPerUser} connections per user`);
        ctx.metrics.closes.inc({ code: CloseCodes.policy.code });
        return;
      }
      data.conn = conn;
      ctx.users.set(conn.userId, [...mine, conn]);
      host.conns.add(conn);
      ctx.metrics.connections.inc();
      ctx.metrics.connects.inc();
      ctx.fanout.acquireUser(conn.userId);
      conn.sendText(
        `{"type":"welcome","connId":${JSON.stringify(conn.id)},"userId":${JSON.stringify(conn.userId)},"serverTime":${Date.now()},${welcomeRest}`,
      );
      ctx.presence.delta({
        k: 'connect',
        conn: conn.id,
        user: conn.userId,
        status: conn.status,
        ...(conn.name === undefined ? {} : { name: conn.name }),
      });
      unreadOnConnect.request(conn);
    },

    message: (ws, message, isBinary) => {
      const conn = ws.getUserData().conn;
      if (!conn) return;
      if (message.byteLength > cfg.frameBytes) {
        return conn.end(CloseCodes.tooBig.code, `frame over ${cfg.frameBytes} bytes`);
      }
      if (isBinary)
        return fail(ctx, conn, undefined, 'bad_request', 'binary frames are not supported; send JSON text');
      const decoded = decodeClientFrame(utf8.decode(message), decodeOptions);
      if (!decoded.ok) {
        ctx.metrics.framesIn.inc({ type: 'invalid' });
        if (conn.strike(cfg.abuseStrikes, cfg.abuseWindowMs)) {
          return conn.end(CloseCodes.policy.code, 'too many invalid frames');
        }
        return fail(ctx, conn, decoded.id, decoded.code, decoded.message);
      }
      const frame = decoded.frame;
      ctx.metrics.framesIn.inc({ type: frame.type });
      try {
        const handler = commands[frame.type] as (c: Ctx, k: Conn, f: typeof frame) => unknown;
        const r = handler(ctx, conn, frame);
        if (r instanceof Promise) r.catch((e) => internalError(ctx, conn, frame.id, e));
      } catch (e) {
        internalError(ctx, conn, frame.id, e);
      }
    },

    drain: (ws) => {
      const conn = ws.getUserData().conn;
      if (!conn?.congested || ws.getBufferedAmount() > cfg.ephemeralBufferBytes / 2) return;
      conn.congested = false;
      for (const room of conn.rooms) ws.subscribe(topics.eph(room));
    },

    close: (ws, code) => {
      const conn = ws.getUserData().conn;
      if (!conn) return;
      conn.closed = true;
      host.conns.delete(conn);
      ctx.metrics.connections.dec();
      ctx.metrics.closes.inc({ code });
      clearTyping(ctx, conn);
      for (const room of conn.rooms) if (!conn.joining.has(room)) leaveRoom(ctx, conn, room);
      ctx.fanout.unwatchAll(conn);
      ctx.fanout.releaseUser(conn.userId);
      const rest = ctx.users.get(conn.userId)?.filter((c) => c !== conn) ?? [];
      if (rest.length > 0) ctx.users.set(conn.userId, rest);
      else ctx.users.delete(conn.userId);
      ctx.presence.delta({ k: 'disconnect', conn: conn.id });
    },
  };
}

function refuse(res: uWS.HttpResponse, status: string, message: string): void {
  res.cork(() => res.writeStatus(status).writeHeader('content-type', 'text/plain').end(message));
}

function internalError(ctx: Ctx, conn: Conn, id: RequestId | undefined, e: unknown): void {
  ctx.log.error({ err: e, connId: conn.id }, 'command failed');
  fail(ctx, conn, id, 'internal', `internal error (connection ${conn.id})`);
}
