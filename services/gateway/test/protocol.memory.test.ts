import { MemoryBroker } from '@parley/bus';
import { startGateway } from './harness.ts';
import { protocolSuite } from './protocol.suite.ts';

protocolSuite('memory bus', () => startGateway({ broker: new MemoryBroker() }));
