import { defineConfig } from 'vitest/config';

// Two projects so each runs alone: `unit` needs nothing; `int` gets real NATS, Kafka and a
// Mongo-wire server from the test kit's global setup (started once per run, shared by prefix).
export default defineConfig({
  test: {
    // A gateway in the same process as its test's WebSocket clients sometimes closes a socket with
    // 1006 inside uWS's upgrade (seen ~1 in 10 fresh processes, never with clients in another
    // process; under investigation, see issue notes). A retry with fresh sockets keeps that
    // harness artifact from failing a run; a real failure still fails all three attempts.
    retry: 2,
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
