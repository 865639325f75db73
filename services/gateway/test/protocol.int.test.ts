import { inject } from 'vitest';
import { startGateway } from './harness.ts';
import { protocolSuite } from './protocol.suite.ts';

protocolSuite('real NATS', () => startGateway({ natsUrl: inject('natsUrl') }));
