import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the tests of `npm run start:cluster`, apart from `npm test` because
 * each run starts a whole cluster (PostgreSQL, the Temporal server, two workers and two APIs)
 * and its first run on a machine builds the Temporal server with Go. The files are named
 * *.spec.ts so that the main configuration's test/**\/*.test.ts does not pick them up.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.spec.ts'],
    // The Temporal SDK's native bridge belongs in a process of its own, not a worker thread.
    pool: 'forks',
    // One cluster at a time: two cores.
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 240_000,
    // Starting the cluster the first time includes building the Temporal server (minutes).
    hookTimeout: 960_000,
    teardownTimeout: 120_000,
  },
});
