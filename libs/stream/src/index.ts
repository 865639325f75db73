// The contract suite is exported separately as `@parley/stream/contract`: it imports vitest and the
// test kit, which production code importing this entry must not load.
export { isStreamError, StreamError } from './errors.ts';
export { createKafkaStream, type KafkaStreamOptions, type StreamLog } from './stream.kafka.ts';
export { createMemoryStream, type MemoryStream, type MemoryStreamOptions } from './stream.memory.ts';
export type { ConsumeOptions, EventStream, InRecord, OutRecord, StreamConsumer } from './stream.ts';
