import { defineConfig } from 'vitest/config';

// Tests start real PostgreSQL, Prometheus, Alertmanager and Chromium processes on a
// 2-core machine: generous timeouts, and at most two files at once.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    isolate: true,
  },
});
