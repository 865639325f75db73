/**
 * What every command handler gets: the gateway's parts, and helpers for the two ways a command
 * ends (a reply, or an error frame that is counted).
 */
import type { Verifier } from '@parley/auth';
import { type Bus, isBusError } from '@parley/bus';
import type { Logger } from '@parley/log';
import type { ErrorCode, RequestId, ServiceReply } from '@parley/protocol';
import type { GatewayConfig } from './config.ts';
import type { Conn } from './connection.ts';
import type { Fanout } from './fanout.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { PresenceReporter } from './presence.ts';

export interface Ctx {
  readonly cfg: GatewayConfig;
  readonly gatewayId: string;
  readonly bus: Bus;
  readonly fanout: Fanout;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  readonly verifier: Verifier;
  readonly presence: PresenceReporter;
  /**
   * Local connections by user (all devices of a user on this gateway). Arrays are replaced, never
   * changed, so a loop over one is safe while connections close (and one element is ~100 B less than a Set).
   */
  readonly users: Map<string, readonly Conn[]>;
}

export function fail(
  ctx: Ctx,
  conn: Conn,
  id: RequestId | undefined,
  code: ErrorCode,
  message: string,
): void {
  ctx.metrics.errors.inc({ code });
  conn.reply(id, { type: 'error', code, message });
}

/**
 * A request to another service. Never rejects: an outage (no responders, timeout, NATS down)
 * becomes `unavailable`, so callers have one failure path.
 */
export async function ask<T>(ctx: Ctx, subject: string, req: unknown): Promise<ServiceReply<T>> {
  try {
    const msg = await ctx.bus.request(subject, JSON.stringify(req), { timeoutMs: ctx.cfg.requestTimeoutMs });
    return JSON.parse(msg.string()) as ServiceReply<T>;
  } catch (e) {
    const what = isBusError(e, 'no_responders') ? 'no instance is running' : 'it did not answer in time';
    return {
      ok: false,
      code: 'unavailable',
      message: `${subject.split('.')[0]} service unavailable: ${what}`,
    };
  }
}

/** Runs `ask` and either hands the result on or sends the error frame. */
export async function askOrFail<T>(
  ctx: Ctx,
  conn: Conn,
  id: RequestId | undefined,
  subject: string,
  req: unknown,
): Promise<T | undefined> {
  const r = await ask<T>(ctx, subject, req);
  if (r.ok) return r.result;
  fail(ctx, conn, id, r.code, r.message);
  return undefined;
}
