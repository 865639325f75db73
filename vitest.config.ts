import { defineConfig } from 'vitest/config';

// Two projects so each runs alone: `unit` needs nothing; `int` gets real NATS, Kafka and a
// Mongo-wire server from the test kit's global setup (started once per run, shared by prefix).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{libs,services}/*/{src,test}/**/*.test.ts', 'embedded/{src,test}/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          // Some unit tests open real loopback sockets; leave room for a busy machine.
          testTimeout: 15_000,
          environment: 'node',
        },
      },
      {
        test: {
          name: 'int',
          include: ['{libs,services}/*/test/**/*.int.test.ts', 'embedded/test/**/*.int.test.ts'],
          environment: 'node',
          globalSetup: ['libs/testkit/src/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
