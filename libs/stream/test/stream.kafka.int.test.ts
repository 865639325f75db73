import { inject } from 'vitest';
import { streamContract } from '../src/stream.contract.ts';
import { createKafkaStream } from '../src/stream.kafka.ts';

streamContract('kafka', async () => {
  const stream = createKafkaStream({
    brokers: inject('kafkaBrokers').split(','),
    clientId: 'stream-contract',
    log: (level, msg, fields) => {
      if (level === 'error') console.error(msg, fields);
    },
  });
  return { stream, cleanup: () => stream.stop() };
});
