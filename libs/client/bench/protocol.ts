/** Messages between the SDK benchmark's runner (sdk.ts) and its receiver processes (receiver.ts). */

export const KINDS = ['sdk', 'sdk-ws', 'ws', 'websocket'] as const;
export type Kind = (typeof KINDS)[number];

export type ToReceiver =
  | { op: 'start'; kind: Kind; url: string; room: string; tokens: string[] }
  | { op: 'measure'; ms: number };

export type FromReceiver =
  | { op: 'ready' }
  | { op: 'count'; n: number }
  | { op: 'result'; messages: number; wallMs: number; cpuUs: number; elu: number; drops: number }
  | { op: 'failed'; error: string };
