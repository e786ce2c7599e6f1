// report.html opened in Debian's Chromium: it renders its charts with no console error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../src/synthetics/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { chartData, renderReport, writeReport } from '../../src/evidence/report.ts';
import { rollbackRecord } from '../support/recovery-record.ts';
import { syntheticRunRecord } from '../support/run-record-fixture.ts';
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
    const bakeSection = page.locator('section.bake');
    expect(await bakeSection.locator('h2').innerText()).toMatch(/12-hour bake FAIL\s+SIMULATED telemetry/);
    expect(await bakeSection.locator('tr.sev1').count()).toBe(1);
    expect(await page.locator('section.run').first().locator('table').first().innerText()).toMatch(/kill\s+pod-kill\s+6s\s+8s/);
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
