import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two cores: two test files at a time (the integration files share one Temporal server).
    maxWorkers: 2,
    teardownTimeout: 60_000,
    projects: [
      {
        // Pure modules (rules, phases, steps, duties' plans, notices, renderers): no server,
        // milliseconds each.
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          globalSetup: ['test/support/global-setup.ts'],
          // The Temporal SDK's native bridge belongs in a process of its own, not a worker thread.
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
