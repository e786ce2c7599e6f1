// report.html opened in Debian's Chromium: it renders its charts with no console error, and a
// reviewer finds what issue #15 item 9 asks for — the overall verdict at the top, what TTD, TTR,
// impact and TTM mean beside the tables (in docs/measures.md's words), the load against its
// thresholds, one run expanded and the rest collapsed, and legends that show figures with no cursor.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../src/synthetics/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { chartData, loadReportAssets, renderReport, writeReport } from '../../src/evidence/report.ts';
import { MEASURE_DEFINITIONS, TIME_POINTS } from '../../src/evidence/report-definitions.ts';
import type { RunRecord } from '../../src/evidence/run-record.ts';
import type { LoadSummary } from '../../src/load/runner.ts';
import { measureRun, type LoadThresholdResult } from '../../src/measure/run.ts';
import { rollbackRecord } from '../support/recovery-record.ts';
import { syntheticRunRecord, T0 } from '../support/run-record-fixture.ts';
import { repoRoot } from '../support/seed-project.ts';
import { defineBake } from '../../src/define/bake.ts';
import { VirtualClock } from '../../src/engine/clock.ts';
import { runBake, simulatedTelemetry } from '../../src/session/bake.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-report-'));
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium(); // Debian's Chromium as journeys run it: no sandbox, no background networking
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('report.html', () => {
  it('charts each run (probes with fault windows, burn) and each bake’s hourly windows, shows the episode table, offline, without console errors', async () => {
    writeRunRecord(join(dir, 'evidence-pack'), 'r1', syntheticRunRecord(0));
    writeRunRecord(join(dir, 'evidence-pack'), 'r1', syntheticRunRecord(60_000));
    // A 12-hour bake with a Sev-1 in hour 7, on the virtual clock, into the same pack.
    const clock = new VirtualClock();
    const start = clock.now();
    const bake = defineBake({ name: 'bake-12h', title: '12-hour bake', environments: ['local'], duration: '12h', checkpoint: '1h', verdict: { sev1: 0 } });
    await runBake(bake, {
      packDir: join(dir, 'evidence-pack', 'release-r1'),
      clock,
      telemetry: simulatedTelemetry({ requestsPerSecond: 30, errorRatio: 0.0005, p50Ms: 15, p95Ms: 60, sev1AtHours: [7], startedAt: () => start }),
    });
    const path = writeReport(join(dir, 'evidence-pack', 'release-r1'));
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(`file://${path}`);
    await page.waitForFunction('document.querySelectorAll("canvas").length >= 6');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]); // self-contained: nothing fetched
    expect(await page.locator('canvas').count()).toBe(6); // 2 charts × 2 runs + 2 for the bake
    // The failed bake is the one expanded; the two passing runs are collapsed, a click away.
    expect(await page.locator('#overall').innerText()).toMatch(/^Overall: FAIL\s+1 of 2 runs and 1 bake did not pass\. 1 bake ran on SIMULATED telemetry/);
    expect(await page.locator('details.item[open]').evaluateAll((ds) => ds.map((d) => d.id))).toEqual(['bake0']);
    const bakeSection = page.locator('section.bake');
    expect(await bakeSection.locator('h2').innerText()).toMatch(/12-hour bake FAIL\s+SIMULATED telemetry/);
    expect(await bakeSection.locator('tr.sev1').count()).toBe(1);
    expect(await page.locator('section.run').first().isVisible()).toBe(false);
    await page.locator('table a[href="#run0"]').click(); // the summary table's link opens the collapsed run
    // The <details> opens on the click's handler: wait until its table is shown before reading it.
    await page.locator('section.run').first().locator('table').first().waitFor({ state: 'visible' });
    expect(await page.locator('section.run').first().locator('table').first().innerText()).toMatch(/kill\s+pod-kill\s+6s\s+8s/);
    // Every legend shows a figure with no cursor on the chart (uPlot's own "--" otherwise).
    const legends = await page.locator('.u-legend .u-value').allTextContents();
    expect(legends.length).toBeGreaterThan(10);
    expect(legends.filter((v) => v === '--')).toEqual([]);
    expect(legends.filter((v) => !/\d/.test(v))).toEqual(['no data', 'no data']); // the fixture's probes carry no latency, in either run
    expect(await page.locator('#run0-probes .u-legend').textContent()).toContain('ready failed8 of 40 failed');
    expect(await page.locator('#bake0-latency .u-legend').innerText()).toMatch(/p95 ms\s*mean 60 ms · max 60 ms/);
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
  });

  it('places fault windows and the detect/recover marks at their times from the run start', () => {
    const data = chartData(syntheticRunRecord(0), 0);
    expect(data.faults).toEqual([{ from: 10, to: 40, label: 'kill: pod-kill' }]);
    expect(data.marks.map((m) => [m.kind, m.t])).toEqual([
      ['detect', 16],
      ['recover', 18],
    ]);
    expect(data.probes[0]!.failed.filter((v) => v !== null)).toHaveLength(8);
  });

  it('marks how each episode recovered and when the team mitigated, and the episode table says it', () => {
    const rec = rollbackRecord('remediated');
    const data = chartData(rec, 0);
    expect(data.marks.map((m) => [m.kind, m.t, m.label])).toEqual([
      ['recover', 15, 'recovered bad-migration: remediated (TTR 5s)'],
      ['mitigate', 14, 'mitigation bad-migration by alert-remediation'],
    ]);
    const html = renderReport([rec, rollbackRecord('timer')], { uplotJs: '', uplotCss: '' }, 't');
    expect(html).toContain('<th>recovered by</th>');
    expect(html).toContain('<span class="recovery remediated">remediated</span>');
    expect(html).toContain('<span class="recovery after-revert">after-revert (+980ms after revert)</span>');
  });
});

// ---------------------------------------------------------------------------------------------
// For a reviewer (issue #15, item 9)

/** The fixture run with load: probes with latencies, a load profile whose error-rate threshold was crossed. */
function loadRun(): RunRecord {
  const base = syntheticRunRecord(120_000);
  const events = base.events.map((e) => (e.kind === 'probe' ? { ...e, latencyMs: e.ok ? 5 : 1000 } : e));
  const loadThresholds: LoadThresholdResult[] = [
    { metric: 'http_req_failed', threshold: 'rate<0.01', ok: false, values: { rate: 0.08, passes: 920, fails: 80 } },
    { metric: 'http_req_duration', threshold: 'p(95)<500', ok: true, values: { avg: 12, med: 9, 'p(95)': 41.5, 'p(99)': 80 } },
  ];
  const outcome = { status: 'completed' as const, startedAt: base.startedAt, endedAt: base.endedAt };
  const m = measureRun({ plan: base.plan, events, outcome, slos: {}, loadThresholds });
  return { ...base, runId: 'run-load', events, measures: m.measures, checks: m.checks, verdict: m.verdict, exitCode: 1, loadThresholds };
}

const loadSummary: LoadSummary = {
  metrics: {
    http_reqs: { type: 'counter', contains: 'default', values: { count: 1000, rate: 25 } },
    http_req_failed: { type: 'rate', contains: 'default', values: { rate: 0.08, passes: 920, fails: 80 }, thresholds: { 'rate<0.01': { ok: false } } },
    http_req_duration: { type: 'trend', contains: 'time', values: { avg: 12, med: 9, 'p(95)': 41.5, 'p(99)': 80 }, thresholds: { 'p(95)<500': { ok: true } } },
    vus_max: { type: 'gauge', contains: 'default', values: { value: 10, min: 10, max: 10 } },
  },
  root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: [], checks: [] },
  state: { testRunDurationMs: 40_000, isStdOutTTY: false, isStdErrTTY: false, aborted: false },
  options: { scenarios: {}, thresholds: {} },
  thresholdsOk: false,
  generator: { cpuSeconds: 2, wallSeconds: 40, cpuShare: 0.05, workers: 1, scope: 'process' },
};

describe('report.html for a reviewer', () => {
  // Newest first: the load run (+120 s, failed), the remediated rollback (TTM), the plain fixture run.
  const records = [syntheticRunRecord(0), rollbackRecord('remediated', T0 + 60_000), loadRun()];

  it('the definitions beside the tables are docs/measures.md’s words', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'measures.md'), 'utf8').replace(/\s+/g, ' ');
    for (const d of MEASURE_DEFINITIONS) expect(doc).toContain(`| ${d.name} | ${d.formula} | \`${d.id}\` |`);
    for (const t of TIME_POINTS) expect(doc).toContain(`**${t.name}** — ${t.meaning}`);
  });

  it('opens on the overall verdict, explains each figure beside its table, shows the load against its thresholds, one run open, legends with figures', async () => {
    expect(records.map((r) => r.verdict)).toEqual(['pass', 'pass', 'fail']);
    const html = renderReport(records, loadReportAssets(), 'release-r2', [], { loadSummaries: { 'run-load': loadSummary } });
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setContent(html);
    await page.waitForFunction('document.querySelectorAll("canvas").length >= 6');
    expect(errors).toEqual([]);

    // 1. The overall verdict is the first thing under the title, naming the run that failed and why.
    expect(await page.locator('body > *').evaluateAll((els) => els.slice(0, 2).map((e) => `${e.tagName}#${e.id}`))).toEqual(['H1#', 'DIV#overall']);
    const overall = await page.locator('#overall').innerText();
    expect(overall).toMatch(/^Overall: FAIL\s+1 of 3 runs did not pass\./);
    expect(overall).toContain('nightly run-load: FAIL');
    expect(await page.locator('#overall a').getAttribute('href')).toBe('#run0');

    // 2. One run expanded — the one that failed — and the others collapsed.
    expect(await page.locator('details.item').evaluateAll((ds) => ds.map((d) => [d.id, d.hasAttribute('open')]))).toEqual([
      ['run0', true],
      ['run1', false],
      ['run2', false],
    ]);
    expect(await page.locator('#run1 > summary').innerText()).toContain('PASS gameday-migration-rollback');
    expect(await page.locator('#run1 section.run').isVisible()).toBe(false);

    // 3. The load results with their thresholds, the crossed one marked, and the summary's figures.
    const load = await page.locator('#run0 table.load').innerText();
    expect(load).toMatch(/http_req_failed\s+rate<0.01\s+rate = 8 %\s+✗ crossed/);
    expect(load).toMatch(/http_req_duration\s+p\(95\)<500\s+p\(95\) = 41.5 ms\s+✓ held/);
    expect(await page.locator('#run0 .load-headline').innerText()).toBe(
      '1000 requests (25/s) · 8 % failed · p50 9 ms · p95 41.5 ms · p99 80 ms · up to 10 VUs · 40 s · generator CPU 5 % of a core',
    );
    expect(await page.locator('#run0 ul.checks').innerText()).toContain('✗ load threshold http_req_failed rate<0.01');
    expect(await page.locator('#run2 table.load').count()).toBe(0); // no load, no load section

    // 4. What TTD, TTR, impact (and TTM, where the table has it) mean, beside the episode table.
    await page.locator('#run1 > summary').click();
    for (const [run, columns] of [
      ['run0', ['TTD', 'TTR', 'impact']],
      ['run1', ['TTD', 'TTM', 'TTR', 'impact']],
    ] as const) {
      const table = page.locator(`#${run} table.episodes`);
      const aside = page.locator(`#${run} aside.definitions`);
      expect(await table.locator('th').allInnerTexts()).toEqual(expect.arrayContaining([...columns]));
      const terms = await aside.locator('dl').first().locator('dt').allInnerTexts();
      expect(terms.map((t) => t.split(/\s/)[0])).toEqual(MEASURE_DEFINITIONS.filter((d) => columns.includes(d.column as never)).map((d) => d.column));
      const dd = await aside.locator('dl').first().locator('dd').allInnerTexts();
      for (const d of MEASURE_DEFINITIONS.filter((x) => columns.includes(x.column as never)))
        expect(dd.some((text) => text.startsWith(d.formula.replace(/`/g, '')))).toBe(true);
      const [t, a] = [(await table.boundingBox())!, (await aside.boundingBox())!];
      expect(a.x).toBeGreaterThanOrEqual(t.x + t.width); // beside the table, not under it
      expect(a.y).toBeLessThan(t.y + t.height);
    }
    expect(await page.locator('#run1 table.episodes').innerText()).toMatch(/bad-migration\s+migration\s+—\s+4s\s+5s/);

    // 5. Legends show figures with no cursor on the chart, and the value under the cursor when there is one.
    const legend = page.locator('#run0-probes .u-legend');
    expect(await legend.innerText()).toMatch(/s\s*0–39 s/);
    expect(await legend.innerText()).toMatch(/ready ms\s*median 5 ms · max 1000 ms/);
    expect(await legend.innerText()).toMatch(/ready failed\s*8 of 40 failed/);
    expect(await page.locator('#run0-errors .u-legend').innerText()).toMatch(/error ratio\s*overall 20 % · max 100 %/);
    const values = await page.locator('#run0 .u-legend .u-value').allInnerTexts();
    expect(values.filter((v) => v === '--' || !/\d/.test(v))).toEqual([]);
    const box = (await page.locator('#run0-probes .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    expect(await legend.innerText()).toMatch(/^s\s*\d+(\.\d+)? s\s*ready ms\s*5 ms\s*ready failed\s*—$/); // the values at one second while hovering
    await page.mouse.move(0, 0);
    expect(await legend.innerText()).toMatch(/s\s*0–39 s/);
    await page.close();
  });
});
