// The five journeys against the real stage, and trace coverage from the traces the
// service really exports: complete on a healthy stage, dropping (with the missing span
// named) when one route is not traced, and a journey step failing during an outage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import { isJourney, type Journey } from '../../src/define/index.ts';
import { loadDefinitions } from '../../src/project/loader.ts';
import { runHttpJourney, type JourneyResult } from '../../src/synthetics/http-journey.ts';
import { traceCoverage, type CoverageRequest } from '../../src/measure/coverage.ts';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';
import { otlpTraceHandler } from '../../src/observe/otlp-receiver.ts';
import { TraceStore } from '../../src/observe/trace-store.ts';

const repo = resolve(__dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'drillbook-synth-'));
const traces = new TraceStore();
const receiver = new TelemetryServer().route('/v1/traces', otlpTraceHandler(traces));
let stage: Stage;
const journeys: Journey[] = [];

beforeAll(async () => {
  for (const f of ['ingest-resolve-report', 'ingest-resolve-runbook-report', 'resolution-merges-duplicates', 'graph-with-edges', 'unknown-case']) {
    const loaded = await loadDefinitions(join(repo, 'synthetics', `${f}.ts`));
    journeys.push(loaded.definitions.map((d) => d.value).find(isJourney)!);
  }
  const url = await receiver.listen();
  // One route untraced, as if a team forgot to instrument it.
  stage = await startStage({
    otlpTracesUrl: `${url}/v1/traces`,
    otlpHeaders: { authorization: `Bearer ${receiver.otlpToken}` },
    stateDir: join(dir, 'stage'),
    env: { TRACING_DISABLED_ROUTES: 'POST /runbook/:id/run' },
  });
}, 60_000);
afterAll(async () => {
  await stage?.stop();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

function requestsOf(j: Journey, r: JourneyResult): CoverageRequest[] {
  return r.steps.map((s, i) => ({
    path: `${j.name}/${s.name}`,
    traceId: s.traceId,
    clientSpanId: s.clientSpanId,
    expectedSpans: j.steps[i]!.spans,
    services: j.trace.services,
  }));
}

describe('journeys on the stage', () => {
  it('all five pass on a healthy stage; coverage is 100 % where traced and names the span that is missing where not', async () => {
    const results = [];
    for (const j of journeys) results.push({ j, r: await runHttpJourney(j, { baseUrl: stage.urls.service, runId: 'run-test' }) });
    for (const { j, r } of results) expect(r.ok, `${j.name}: ${JSON.stringify(r.steps.map((s) => s.failedAssertions))}`).toBe(true);
    await new Promise((r) => setTimeout(r, 1_500)); // the service exports spans in 200 ms batches
    const traced = results.filter(({ j }) => j.name !== 'ingest-resolve-runbook-report');
    const healthy = traceCoverage(
      traced.flatMap(({ j, r }) => requestsOf(j, r)),
      (id) => traces.trace(id),
    );
    expect(healthy.incomplete).toEqual([]);
    expect(healthy.value).toBe(1);
    const runbook = results.find(({ j }) => j.name === 'ingest-resolve-runbook-report')!;
    const partial = traceCoverage(requestsOf(runbook.j, runbook.r), (id) => traces.trace(id));
    expect(partial.value).toBe(0.75);
    expect(partial.perPath['ingest-resolve-runbook-report/runbook']).toEqual({ total: 1, complete: 0, missingSpans: { 'POST /runbook/:id/run': 1 } });
    expect(partial.incomplete[0]!.reasons).toContain("missing span 'POST /runbook/:id/run'");
  });

  it('a specified step fails during a dependency outage, with the reason', async () => {
    await (await request(`${stage.urls.control}/db/stop`, { method: 'POST', headers: { authorization: `Bearer ${stage.controlToken}` } })).body.dump();
    try {
      const r = await runHttpJourney(journeys[0]!, { baseUrl: stage.urls.service });
      expect(r.ok).toBe(false);
      expect(r.steps.at(-1)!.name).toBe('ingest');
      expect(r.steps.at(-1)!.failedAssertions[0]).toMatch(/^status 50\d, expected 201/);
    } finally {
      await (await request(`${stage.urls.control}/db/start`, { method: 'POST', headers: { authorization: `Bearer ${stage.controlToken}` } })).body.dump();
    }
  });
});
