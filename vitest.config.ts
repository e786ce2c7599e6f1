import { defineConfig } from 'vitest/config';

// Two lanes. `stage`: tests that start real PostgreSQL, Prometheus, Alertmanager, Chromium or the
// `drill` binary — minutes on a 2-core machine, so generous timeouts and at most two files at once.
// `unit`: everything else, pure or loopback-only, about a minute (`npm run test:unit`). A new test
// that starts the stage, promtool, Chromium or the binary belongs in STAGE_TESTS below.
const STAGE_TESTS = [
  'packages/stage/test/{lifecycle,running-stage,security,history,metrics}.test.ts',
  'packages/harness/test/session/{run-pipeline,schedule-real,bake-live,seed-drills-stage,seed-gamedays-stage,remediation-stage}.test.ts',
  'packages/harness/test/synthetics/*-stage.test.ts',
  'packages/harness/test/measure/ground-truth-*.test.ts',
  'packages/harness/test/build/{build,stage,dashboards-stage}.test.ts',
  'packages/harness/test/load/load-stage.test.ts',
  'packages/harness/test/observe/fault-metrics.test.ts',
  'packages/harness/test/faults/local-providers.test.ts',
  'packages/harness/test/cli/{cli,compiled-loading}.test.ts',
  'packages/harness/test/project/{init,packed}-walkthrough.test.ts',
  'packages/harness/test/containers/containers-{gameday,cleanup,environment}.test.ts',
  'packages/harness/test/kube/*-stage.test.ts',
  'packages/harness/test/evidence/report.test.ts',
  'packages/harness/test/hosts/proxy-stage.test.ts',
];
const ALL = ['packages/*/test/**/*.test.ts'];

export default defineConfig({
  // '@drillbook/*' resolve to their TypeScript sources in tests (the `source` export condition;
  // vitest hands these conditions to the worker's Node too, so definition files loaded through
  // tsx get the sources as well). No 'module': Node would then pick bundler-only ESM builds
  // (@opentelemetry/api's). The `drill` binary runs dist/, which tools/build-once.ts brings up to
  // date before any test runs.
  ssr: { resolve: { conditions: ['source', 'node', 'development|production'] } },
  test: {
    globalSetup: ['tools/build-once.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    isolate: true,
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: STAGE_TESTS } },
      { extends: true, test: { name: 'stage', include: STAGE_TESTS } },
    ],
  },
});
