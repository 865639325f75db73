import { MemoryBroker } from '@parley/bus';
import { startGateway } from './harness.ts';
import { limitsSuite } from './limits.suite.ts';

limitsSuite('memory bus', (env) => startGateway({ broker: new MemoryBroker(), env }));
