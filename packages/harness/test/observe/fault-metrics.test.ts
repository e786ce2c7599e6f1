// drillbook_fault_active from the harness's /metrics, scraped by the local stage's Prometheus:
// 1 while a fault is in, 0 once it is out — what the generated dashboards shade.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import type { RunEvent } from '../../src/engine/types.ts';
import { FaultMetrics } from '../../src/observe/fault-metrics.ts';
import { PrometheusClient } from '../../src/observe/prometheus.ts';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';

const run = { drill: 'nightly', runId: 'run-1' };
const injecting = (t: number): RunEvent => ({
  t,
  kind: 'fault.injecting',
  faultId: 'f1',
  phase: 'replica-loss',
  provider: 'local-process',
  fault: { kind: 'pod-kill', target: 'api' },
});

describe('FaultMetrics', () => {
  it('is 1 from fault.injected to fault.reverted; stays 1 when the revert failed', async () => {
    const m = new FaultMetrics();
    m.observe(injecting(1), run);
    expect(await m.text()).not.toMatch(/drillbook_fault_active\{/); // not in yet
    m.observe({ t: 2, kind: 'fault.injected', faultId: 'f1', targets: ['replica-1'] }, run);
    expect(await m.text()).toMatch(/drillbook_fault_active\{drill="nightly",phase="replica-loss",fault="pod-kill",run_id="run-1"\} 1/);
    m.observe({ t: 3, kind: 'fault.revert-failed', faultId: 'f1', error: 'x' }, run);
    expect(await m.text()).toMatch(/run_id="run-1"\} 1/);
    m.observe({ t: 4, kind: 'fault.reverted', faultId: 'f1' }, run);
    expect(await m.text()).toMatch(/run_id="run-1"\} 0/);
  });
});

describe('scraped by the stage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drillbook-fault-metrics-'));
  const metrics = new FaultMetrics();
  const server = new TelemetryServer().get('/metrics', async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.text() }));
  let stage: Stage;
  beforeAll(async () => {
    const url = await server.listen();
    stage = await startStage({ replicas: 1, stateDir: join(dir, 'stage'), extraScrapeTargets: [{ job: 'drillbook', target: new URL(url).host }] });
  }, 60_000);
  afterAll(async () => {
    await stage?.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Prometheus sees the fault go in and come out', async () => {
    const prom = new PrometheusClient(stage.urls.prometheus, 5_000, stage.auth.prometheus);
    const value = async () => (await prom.query('max(drillbook_fault_active{job="drillbook",drill="nightly"})'))[0]?.value;
    const until = async (want: number) => {
      for (let i = 0; i < 100 && (await value()) !== want; i++) await new Promise((r) => setTimeout(r, 200));
      return value();
    };
    metrics.observe(injecting(1), run);
    metrics.observe({ t: 2, kind: 'fault.injected', faultId: 'f1', targets: ['replica-1'] }, run);
    expect(await until(1)).toBe(1);
    metrics.observe({ t: 3, kind: 'fault.reverted', faultId: 'f1' }, run);
    expect(await until(0)).toBe(0);
  });
});
