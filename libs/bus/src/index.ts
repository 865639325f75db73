export { createMemoryBus, MemoryBroker } from './bus.memory.ts';
export { createNatsBus, type NatsBusOptions } from './bus.nats.ts';
export {
  type AppendResult,
  type Bus,
  BusError,
  type BusMsg,
  type ChatConsumer,
  type ChatLog,
  type ChatRecord,
  type ChatWindow,
  DEFAULT_CHAT_WINDOW,
  isBusError,
  type Payload,
  type SourceGap,
  type SubjectRefs,
  type Subscription,
  type WindowRead,
} from './bus.ts';
export { subjectMatches } from './subject.ts';
