// Runs a browser journey once in Chromium. Every request the page makes to the service gets
// a W3C traceparent (one trace id per run, a span id per request) as a browser tracing
// instrumentation would add, so each backend trace is found by id; each request is also
// pushed to the page's Faro SDK as an event carrying that span context, which links the
// Faro session to the backend traces at the collector. At the end the page is left, which
// makes the SDK send the web vitals it holds until then (LCP, CLS, INP).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import type { BrowserJourney, BrowserStep } from '../define/browser-journey.ts';
import { launchChromium } from './chromium.ts';

export interface BrowserRequest {
  method: string;
  path: string;
  status: number;
  traceId: string;
  /** The span id sent as parent: the backend's root span points at it. */
  clientSpanId: string;
}

export interface BrowserStepResult {
  name: string;
  ok: boolean;
  started: number;
  durationMs: number;
  error?: string;
  requests: BrowserRequest[];
}

export interface BrowserJourneyResult {
  journey: string;
  ok: boolean;
  traceId: string;
  /** The Faro session of this run (undefined when the page does not load the SDK). */
  faroSessionId?: string;
  steps: BrowserStepResult[];
  /** Console errors and uncaught page errors seen during the run. */
  pageErrors: string[];
  /** Where the screenshot of a failed step went. */
  screenshot?: string;
}

export interface BrowserJourneyOptions {
  baseUrl: string;
  /** A browser to reuse (probes run often); one is launched and closed otherwise. */
  browser?: Browser;
  runId?: string;
  /** A failed step's screenshot goes here. */
  screenshotDir?: string;
  now?: () => number;
}

/** What the page functions below use of the page's globals (this package is not compiled with the DOM lib). */
interface PageGlobals {
  document: { querySelector(s: string): { textContent: string | null } | null };
  faro?: {
    api: { getSession(): { id?: string } | undefined; pushEvent(name: string, attributes: Record<string, string>, domain?: string, options?: object): void };
  };
}

const isLoopback = (url: URL) => url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';

async function act(page: Page, step: BrowserStep, baseUrl: string, timeout: number): Promise<void> {
  const a = step.action;
  if ('goto' in a) await page.goto(new URL(a.goto, baseUrl).toString(), { timeout, waitUntil: 'load' });
  else if ('click' in a) await page.click(a.click, { timeout });
  else await page.fill(a.fill.selector, a.fill.value, { timeout });
  const e = step.expect;
  if (e.visible) await page.locator(e.visible).first().waitFor({ state: 'visible', timeout });
  if (e.text) {
    const { selector, contains } = e.text;
    await page
      .waitForFunction(
        ([s, t]) => (globalThis as unknown as PageGlobals).document.querySelector(s)?.textContent?.includes(t) ?? false,
        [selector, contains] as const,
        { timeout },
      )
      .catch(async () => {
        const shown = await page
          .locator(selector)
          .first()
          .textContent({ timeout: 500 })
          .catch(() => null);
        throw new Error(`${selector} shows ${JSON.stringify(shown?.trim().slice(0, 200) ?? null)}, expected it to contain ${JSON.stringify(contains)}`);
      });
  }
}

export async function runBrowserJourney(journey: BrowserJourney, opts: BrowserJourneyOptions): Promise<BrowserJourneyResult> {
  const now = opts.now ?? Date.now;
  const base = new URL(opts.baseUrl);
  const browser = opts.browser ?? (await launchChromium());
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  const traceId = randomBytes(16).toString('hex');
  const pageErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  // Requests of the step in progress; the service's API calls get a traceparent.
  let current: BrowserRequest[] = [];
  const recorded = new Map<Request, BrowserRequest>();
  await page.route('**/*', async (route) => {
    const req = route.request();
    const url = new URL(req.url());
    if (!isLoopback(url) && url.protocol !== 'data:' && url.protocol !== 'about:') return route.abort('blockedbyclient'); // loopback only
    const api = url.origin === base.origin && (req.resourceType() === 'fetch' || req.resourceType() === 'xhr');
    if (!api) return route.continue();
    const r: BrowserRequest = { method: req.method(), path: url.pathname, status: 0, traceId, clientSpanId: randomBytes(8).toString('hex') };
    recorded.set(req, r);
    current.push(r);
    return route.continue({
      headers: {
        ...req.headers(),
        traceparent: `00-${traceId}-${r.clientSpanId}-01`,
        ...(opts.runId ? { 'x-drillbook-run': opts.runId, baggage: `drillbook.run_id=${opts.runId}` } : {}),
      },
    });
  });
  page.on('response', (res) => {
    const r = recorded.get(res.request());
    if (r) r.status = res.status();
  });

  const steps: BrowserStepResult[] = [];
  let faroSessionId: string | undefined;
  let screenshot: string | undefined;
  try {
    for (const step of journey.steps) {
      current = [];
      const started = now();
      const t0 = performance.now();
      let error: string | undefined;
      try {
        await act(page, step, opts.baseUrl, journey.stepTimeout);
        if (step.expect.maxMs !== undefined && performance.now() - t0 > step.expect.maxMs)
          error = `took ${(performance.now() - t0).toFixed(0)} ms, bound ${step.expect.maxMs} ms`;
        const failedCall = current.find((r) => r.status >= 500);
        if (!error && failedCall) error = `${failedCall.method} ${failedCall.path} answered ${failedCall.status}`;
      } catch (err) {
        error = (err as Error).message.split('\n')[0];
      }
      const requests = current;
      // Tell Faro which backend traces this step made (its items carry the span context).
      faroSessionId ??= await page.evaluate(() => (globalThis as unknown as PageGlobals).faro?.api.getSession()?.id).catch(() => undefined);
      await page
        .evaluate(
          ({ reqs, stepName }) => {
            const faro = (globalThis as unknown as PageGlobals).faro;
            for (const r of reqs)
              faro?.api.pushEvent('drillbook.request', { step: stepName, method: r.method, path: r.path, status: String(r.status) }, undefined, {
                spanContext: { traceId: r.traceId, spanId: r.clientSpanId },
              });
          },
          { reqs: requests, stepName: step.name },
        )
        .catch(() => undefined);
      steps.push({ name: step.name, ok: !error, started, durationMs: performance.now() - t0, requests, ...(error ? { error } : {}) });
      if (error) {
        if (opts.screenshotDir) {
          mkdirSync(opts.screenshotDir, { recursive: true });
          screenshot = join(opts.screenshotDir, `${journey.name}-${step.name}-${Date.now()}.png`);
          await page.screenshot({ path: screenshot, fullPage: true }).catch(() => (screenshot = undefined));
        }
        break;
      }
    }
    // Leaving the page hides it: the SDK reports the vitals it was holding and sends its batch.
    await page.goto('about:blank').catch(() => undefined);
  } finally {
    await context.close();
    if (!opts.browser) await browser.close();
  }
  const ok = steps.length === journey.steps.length && steps.every((s) => s.ok);
  return { journey: journey.name, ok, traceId, ...(faroSessionId ? { faroSessionId } : {}), steps, pageErrors, ...(screenshot ? { screenshot } : {}) };
}
