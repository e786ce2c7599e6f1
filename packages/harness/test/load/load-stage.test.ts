// The committed P50 profile (load/steady-p50.ts), shortened to 5 s, against the local stage:
// the k6-shaped summary counts what was sent, checks pass, thresholds are evaluated, nothing
// is dropped on a healthy stage — and the service's own request counter in Prometheus rose
// by the same number (what the runner reports is what the service saw).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import { isLoadProfile, type LoadProfile } from '../../src/define/index.ts';
import { loadDefinitions } from '../../src/project/loader.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { runLoad } from '../../src/load/runner.ts';
import { PrometheusClient } from '../../src/observe/prometheus.ts';

const repo = resolve(__dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'drillbook-load-stage-'));
let stage: Stage;
let profile: LoadProfile;

beforeAll(async () => {
  const committed = (await loadDefinitions(join(repo, 'load', 'steady-p50.ts'))).definitions.map((d) => d.value).find(isLoadProfile)!;
  // The same request, rate and thresholds; 5 s instead of 2 min.
  profile = { ...committed, scenarios: Object.fromEntries(Object.entries(committed.scenarios).map(([k, s]) => [k, { ...s, duration: 5_000 }])) };
  stage = await startStage({ replicas: 2, stateDir: join(dir, 'stage') });
}, 60_000);
afterAll(async () => {
  await stage?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a load profile against the stage', () => {
  it('steady-p50 for 5 s: every request counted by the runner and by the service, checks and thresholds pass', async () => {
    const prom = new PrometheusClient(stage.urls.prometheus, undefined, stage.auth.prometheus);
    const ingestCount = async () =>
      (await prom.query('sum(http_requests_total{service="graph-api",route="/ingest",method="POST"}) or vector(0)'))[0]?.value ?? 0;
    const before = await ingestCount();
    const samples: number[] = [];
    const summary = await runLoad(profile, { baseUrl: stage.urls.service, clock: new RealClock(), onSample: (s) => samples.push(s.requests) });
    const m = summary.metrics;
    const sent = m.http_reqs!.values.count!;
    console.log(
      `steady-p50 on the stage for 5 s: ${sent} requests, p95 ${m.http_req_duration!.values['p(95)']!.toFixed(1)} ms, dropped ${m.dropped_iterations?.values.count ?? 0}`,
    );
    // 20/s for 5 s: the open model starts 100 iterations (± the last tick).
    expect(sent).toBeGreaterThanOrEqual(99);
    expect(sent).toBeLessThanOrEqual(101);
    expect(m.dropped_iterations?.values.count ?? 0).toBe(0);
    expect(m.http_req_failed!.values.rate).toBe(0);
    expect(m.checks!.values.rate).toBe(1);
    expect(m.http_req_duration!.values['p(95)']).toBeGreaterThan(0);
    expect(m.http_req_duration!.thresholds!['p(95)<500']!.ok).toBe(true);
    expect(m.http_req_failed!.thresholds!['rate<0.05']!.ok).toBe(true);
    expect(samples.reduce((a, b) => a + b, 0)).toBe(sent); // live per-second samples add up to the total

    // The service saw exactly what the runner sent (once Prometheus has scraped it: 1 s interval).
    let seen = 0;
    for (let i = 0; i < 50 && seen < sent; i++) {
      await new Promise((r) => setTimeout(r, 200));
      seen = (await ingestCount()) - before;
    }
    expect(seen).toBe(sent);
  }, 60_000);
});
