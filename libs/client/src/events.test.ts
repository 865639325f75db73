/**
 * Type-level tests of the event map (checked by `tsc` over the repo, which `npm test` runs) plus
 * the runtime behaviour they describe.
 */
import type { ChatMessage, Notification } from '@parley/protocol';
import { expectTypeOf, it } from 'vitest';
import type { ParleyClient } from './client.ts';
import { type ClientEvents, Emitter, type GapEvent, type StateChange } from './events.ts';

it('types every handler by its event name', () => {
  expectTypeOf<Parameters<ParleyClient['on']>[0]>().toEqualTypeOf<keyof ClientEvents>();
  expectTypeOf<ClientEvents['message']>().toEqualTypeOf<ChatMessage>();
  expectTypeOf<ClientEvents['gap']>().toEqualTypeOf<GapEvent>();
  expectTypeOf<ClientEvents['notification']>().toEqualTypeOf<Notification>();
  expectTypeOf<ClientEvents['state']>().toEqualTypeOf<StateChange>();
  expectTypeOf<ReturnType<ParleyClient['on']>>().toEqualTypeOf<() => void>();
  expectTypeOf<ReturnType<ParleyClient['states']>>().toEqualTypeOf<AsyncIterable<StateChange>>();

  const e = new Emitter();
  e.on('message', (m) => expectTypeOf(m.seq).toEqualTypeOf<number>());
  e.on('gap', (g) => expectTypeOf(g.epochChanged).toEqualTypeOf<boolean | undefined>());
  e.on('presence.user', (u) => expectTypeOf(u.status).toEqualTypeOf<'online' | 'away' | 'dnd' | 'offline'>());
  // @ts-expect-error: no such event
  e.on('mesage', () => {});
  // @ts-expect-error: a message handler does not get a GapEvent
  e.on('message', (g: GapEvent) => g);
  // @ts-expect-error: the payload must match the event
  e.emit('typing', { room: 'r', userId: 'u' });
});

it('stream() queues values and ends after the `until` value', async ({ expect }) => {
  const e = new Emitter();
  const it = e.stream('state', (s) => s.state === 'closed')[Symbol.asyncIterator]();
  e.emit('state', { state: 'open' });
  e.emit('state', { state: 'closed' });
  e.emit('state', { state: 'open' });
  expect((await it.next()).value).toEqual({ state: 'open' });
  expect((await it.next()).value).toEqual({ state: 'closed' });
  expect((await it.next()).done).toBe(true);
});
