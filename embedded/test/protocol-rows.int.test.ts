import { inject } from 'vitest';
import { protocolRowsSuite } from './protocol-rows.suite.ts';
import { startStack } from './stack.ts';

protocolRowsSuite('real NATS, Kafka, Mongo-wire', () =>
  startStack({
    natsUrl: inject('natsUrl'),
    kafkaBrokers: inject('kafkaBrokers'),
    mongoUrl: inject('mongoUrl'),
  }),
);
