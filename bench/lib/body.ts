/**
 * The message every publisher sends: a Parley `message` frame with a 100-character body that
 * starts with a µs stamp (`@<CLOCK_MONOTONIC µs>`), so peers put the same bytes on the wire as the
 * gateway and every client can measure publish -> deliver latency.
 */
import { encodeChatPayload } from '@parley/protocol';
import { nowUs } from '../loadgen/frames.ts';

export const BODY_CHARS = 100;
const PAD = 'x'.repeat(BODY_CHARS);

export function body(): string {
  const s = `@${nowUs()} `;
  return s + PAD.slice(s.length);
}

/** The JetStream payload (what the gateway would store for a publish). */
/** Unique per process, so a rerun inside the duplicate window is not deduplicated by JetStream. */
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;

export function payload(room: string, n: number): { payload: string; msgId: string } {
  const msgId = `bench-${RUN}:${room}:${n}`;
  return {
    msgId,
    payload: encodeChatPayload({
      msgId,
      from: 'bench',
      body: body(),
      ts: Date.now(),
      clientMsgId: String(n),
    }),
  };
}
