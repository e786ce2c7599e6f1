// report.html opened in Debian's Chromium: it renders its charts with no console error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { chartData, writeReport } from '../../src/evidence/report.ts';
import { syntheticRunRecord } from '../support/run-record-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-report-'));
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('report.html', () => {
  it('charts each run (probes with fault windows, burn) and shows the episode table, offline, without console errors', async () => {
    writeRunRecord(join(dir, 'evidence-pack'), 'r1', syntheticRunRecord(0));
    writeRunRecord(join(dir, 'evidence-pack'), 'r1', syntheticRunRecord(60_000));
    const path = writeReport(join(dir, 'evidence-pack', 'release-r1'));
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(`file://${path}`);
    await page.waitForFunction('document.querySelectorAll("canvas").length >= 4');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]); // self-contained: nothing fetched
    expect(await page.locator('canvas').count()).toBe(4); // 2 charts × 2 runs
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
});
