/**
 * Test helper: a started NotifyService on given drivers (memory ones by default), a service token,
 * `post` that checks every response against openapi.yaml, and `listen`/`query` on the bus the way
 * a gateway uses it.
 */
import { DEV_SECRET, signToken } from '@parley/auth';
import type { Bus } from '@parley/bus';
import { createTestLogger } from '@parley/log';
import { type Notification, type NotifyRequest, Subjects, type UserEvent } from '@parley/protocol';
import { createMemoryInfra, verifierFrom } from '@parley/runtime';
import type { Stores } from '@parley/store';
import type { EventStream } from '@parley/stream';
import { expect } from 'vitest';
import { loadNotifyConfig, NotifyService } from '../src/index.ts';
import { responseSchemaFor, schemaErrors } from './openapi.ts';

export interface Drivers {
  bus: Bus;
  stream: EventStream;
  stores: Stores;
}

export interface Harness extends Drivers {
  svc: NotifyService;
  url: string;
  token: string;
  post(
    body: unknown,
    opts?: { token?: string; raw?: boolean },
  ): Promise<{ status: number; json: { error?: string; id?: string; recipients?: number } }>;
  /** Every notification frame published to user.<id> from now on. */
  listen(user: string): Notification[];
  query<T>(req: NotifyRequest): Promise<T>;
  stop(): Promise<void>;
}

export async function startNotify(env: Record<string, string> = {}, drivers?: Drivers): Promise<Harness> {
  const d = drivers ?? memoryDrivers();
  const cfg = loadNotifyConfig({ NOTIFY_PORT: '0', NOTIFY_HOST: '127.0.0.1', ...env });
  const svc = new NotifyService({
    cfg,
    ...d,
    verifier: await verifierFrom(cfg),
    log: createTestLogger().logger,
  });
  await svc.start();
  const url = `http://127.0.0.1:${svc.port}`;
  const token = await signToken(DEV_SECRET, { sub: 'billing', scope: 'notify:send' });
  const subs: { unsubscribe(): void }[] = [];
  return {
    ...d,
    svc,
    url,
    token,
    async post(body, opts = {}) {
      const res = await fetch(`${url}/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.token ?? token}`, 'content-type': 'application/json' },
        body: opts.raw ? (body as string) : JSON.stringify(body),
      });
      const json = await res.json();
      expect(
        schemaErrors(responseSchemaFor(res.status), json),
        `${res.status} ${JSON.stringify(json)}`,
      ).toEqual([]);
      return { status: res.status, json };
    },
    listen(user) {
      const got: Notification[] = [];
      subs.push(
        d.bus.subscribe(Subjects.user(user), (m) => {
          const ev = JSON.parse(m.string()) as UserEvent;
          if (ev.kind === 'frame')
            got.push((JSON.parse(ev.frame) as { notification: Notification }).notification);
        }),
      );
      return got;
    },
    async query<T>(req: NotifyRequest) {
      const msg = await d.bus.request(Subjects.notifyQuery, JSON.stringify(req), { timeoutMs: 5000 });
      const reply = JSON.parse(msg.string());
      if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
      return reply.result as T;
    },
    async stop() {
      for (const s of subs) s.unsubscribe();
      await svc.drain();
    },
  };
}

function memoryDrivers(): Drivers {
  const infra = createMemoryInfra();
  return { bus: infra.broker.connect(), stream: infra.stream, stores: infra.stores };
}
