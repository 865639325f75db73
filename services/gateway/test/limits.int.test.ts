import { inject } from 'vitest';
import { startGateway } from './harness.ts';
import { limitsSuite } from './limits.suite.ts';

limitsSuite('real NATS', (env) => startGateway({ natsUrl: inject('natsUrl'), env }));
