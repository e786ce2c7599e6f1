// A browser journey in Debian's Chromium against the stage's web page: it passes; its Faro
// payload (with web vitals) reaches the harness's collector, the backend trace of every API
// call reaches the OTLP receiver, and the Faro session is linked to those traces. A step
// whose expectation never holds fails by name, with a screenshot.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import { defineBrowserJourney, isBrowserJourney, type BrowserJourney } from '../../src/define/index.ts';
import { loadDefinitions } from '../../src/project/loader.ts';
import { DefinitionError } from '../../src/define/errors.ts';
import { traceCoverage } from '../../src/measure/coverage.ts';
import { faroHandler, RumStore } from '../../src/observe/faro-receiver.ts';
import { otlpTraceHandler } from '../../src/observe/otlp-receiver.ts';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';
import { settleSpans, TraceStore } from '../../src/observe/trace-store.ts';
import { BrowserPool, runJourney } from '../../src/synthetics/run-journey.ts';

const repo = resolve(__dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'drillbook-browser-'));
const traces = new TraceStore();
const rum = new RumStore();
const receiver = new TelemetryServer().route('/v1/traces', otlpTraceHandler(traces)).route('/collect', faroHandler(rum, traces));
const browsers = new BrowserPool();
let stage: Stage;
let journey: BrowserJourney;

beforeAll(async () => {
  journey = (await loadDefinitions(join(repo, 'synthetics', 'browser-ingest-resolve-report.ts'))).definitions.map((d) => d.value).find(isBrowserJourney)!;
  const url = await receiver.listen();
  stage = await startStage({
    replicas: 1,
    otlpTracesUrl: `${url}/v1/traces`,
    otlpHeaders: { authorization: `Bearer ${receiver.otlpToken}` },
    faroCollectorUrl: `${url}/collect`,
    faroHeaders: { authorization: `Bearer ${receiver.faroToken}` },
    stateDir: join(dir, 'stage'),
  });
  // The page posts to /collect from the service's origin (through the balancer or a replica).
  for (const origin of [stage.urls.service, ...stage.urls.replicas]) receiver.allowOrigin(origin);
}, 60_000);
afterAll(async () => {
  await browsers.close();
  await stage?.stop();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits (bounded) for something the browser or the service sends asynchronously. */
async function eventually<T>(get: () => T | undefined, ms = 15_000): Promise<T | undefined> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const v = get();
    if (v !== undefined) return v;
  }
  return get();
}

describe('a browser journey on the stage', () => {
  it('passes in Chromium; Faro delivers web vitals, the backend traces arrive, and the session links to them', async () => {
    const t0 = performance.now();
    const r = await runJourney(journey, { baseUrl: stage.urls.service, browser: await browsers.get(), screenshotDir: join(dir, 'shots') });
    console.log(`browser journey: ${(performance.now() - t0).toFixed(0)} ms wall, Faro session ${r.faroSessionId}`);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.steps.map((s) => [s.name, s.ok])).toEqual([
      ['open', true],
      ['ingest', true],
      ['resolve', true],
      ['report', true],
    ]);
    expect(r.steps.slice(1).map((s) => s.requests.length)).toEqual([1, 1, 1]);

    // The Faro payload: this session, with web vitals (sent when the page was left).
    const session = await eventually(() => {
      const s = rum.session(r.faroSessionId!);
      return s && s.measurements.lcp !== undefined && s.measurements.cls !== undefined ? s : undefined;
    });
    expect(session, 'no Faro session with LCP and CLS reached the collector').toBeDefined();
    for (const vital of ['ttfb', 'fcp', 'lcp', 'cls']) expect(session!.measurements[vital], vital).toBeTypeOf('number');
    expect(session!.pages[0]).toBe(`${stage.urls.service}/`);

    // The link: the session names the run's trace id, and the backend trace is there.
    const linked = await eventually(() => {
      const l = rum.linkedTraces(r.faroSessionId!, traces).find((x) => x.traceId === r.traceId);
      return l && l.spans >= 3 ? l : undefined;
    });
    expect(linked, 'the backend trace of the page’s API calls did not arrive').toBeDefined();
    expect(linked!.services).toEqual(['graph-api']);
    // Every API call's backend trace is complete: coverage over the browser's requests, once
    // the service's span batches have landed (as a drill waits for them).
    await settleSpans(traces, () => traceCoverage(r.coverage, (id) => traces.trace(id)).value === 1);
    const c = traceCoverage(r.coverage, (id) => traces.trace(id));
    expect(c.total).toBe(3);
    expect(c.value).toBe(1);
  }, 60_000);

  it('a step whose text never appears fails by name, with a screenshot, and later steps do not run', async () => {
    const broken = defineBrowserJourney({
      name: 'expects-the-wrong-status',
      steps: [
        { name: 'open', goto: '/' },
        { name: 'ingest', click: '#ingest', expect: { text: ['#status', '→ 418'] } },
        { name: 'resolve', click: '#resolve' },
      ],
      stepTimeout: '2s',
    });
    const r = await runJourney(broken, { baseUrl: stage.urls.service, browser: await browsers.get(), screenshotDir: join(dir, 'shots') });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^ingest: #status shows "POST \/ingest → 201", expected it to contain "→ 418"/);
    expect(r.steps.map((s) => s.name)).toEqual(['open', 'ingest']);
    expect(r.screenshot && existsSync(r.screenshot)).toBe(true);
  }, 60_000);
});

describe('defineBrowserJourney', () => {
  it('names the step, the field and the fix', () => {
    const attempt = () => defineBrowserJourney({ name: 'bad', steps: [{ name: 'open', click: '#x', goto: '/' }, { name: 'two' }] }, 'synthetics/bad.ts');
    expect(attempt).toThrow(DefinitionError);
    try {
      attempt();
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toMatch(/synthetics\/bad\.ts: steps\[0\]: has goto and click: one action per step/);
      expect(msg).toMatch(/steps\[1\]: has no action/);
      expect(msg).toMatch(/fix: give each step exactly one of goto/);
    }
  });
});
