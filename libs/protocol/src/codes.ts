/**
 * The two tables every part of Parley uses for failures: protocol error codes (sent in `error`
 * frames) and WebSocket close codes. No code string or close number is written anywhere else;
 * docs/errors.md is checked against these tables by a test.
 */

export const ErrorCodes = {
  bad_request: {
    retry: false,
    doc: 'The frame is not valid JSON, has an unknown type, or a field is missing or wrong.',
  },
  forbidden: {
    retry: false,
    doc: "The token's patterns, or a user-limited room's member list, do not allow this.",
  },
  not_joined: { retry: false, doc: 'The frame names a room this connection has not joined.' },
  rate_limited: { retry: true, doc: 'A per-connection rate limit was hit; wait and retry.' },
  too_large: { retry: false, doc: 'The body or the frame is over the limit sent in welcome.limits.' },
  unavailable: {
    retry: true,
    doc: 'A backend (NATS, history, presence) did not answer in time; retry later.',
  },
  internal: { retry: true, doc: 'An unexpected server error; it is logged with the connection id.' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Close codes. The 4000-4099 range is Parley's; `reconnect` tells a client whether reconnecting with
 * the same credentials can help (4001/4003 need a new token first).
 */
export const CloseCodes = {
  goingAway: {
    code: 1001,
    reconnect: true,
    doc: 'Server going away (drain or shutdown); reconnect with jitter.',
  },
  tooBig: { code: 1009, reconnect: true, doc: 'A frame was larger than the frame limit.' },
  unauthorized: {
    code: 4001,
    reconnect: false,
    doc: 'Missing, malformed, forged or invalid token, or revoked by an admin.',
  },
  tokenExpired: { code: 4003, reconnect: false, doc: 'The token expired and was not refreshed in time.' },
  policy: {
    code: 4008,
    reconnect: true,
    doc: 'Sustained abuse (repeated limit violations); back off hard before reconnecting.',
  },
  slowConsumer: {
    code: 4010,
    reconnect: true,
    doc: 'The socket fell behind its send buffer limit; reconnect and recover.',
  },
} as const;

export type CloseName = keyof typeof CloseCodes;
export type CloseCode = (typeof CloseCodes)[CloseName]['code'];

const closeByCode = new Map<number, CloseName>(
  Object.entries(CloseCodes).map(([name, c]) => [c.code, name as CloseName]),
);

/** Looks up a close code's name; undefined for codes Parley never sends (1000, 1006, ...). */
export function closeName(code: number): CloseName | undefined {
  return closeByCode.get(code);
}
