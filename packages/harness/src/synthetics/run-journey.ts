// One way to run any journey (HTTP or browser) and get what drills, bakes and `drill synth`
// need from it: pass/fail with the failing step, a line per step, and the requests whose
// backend traces count for trace coverage.
import type { Browser } from 'playwright-core';
import { isBrowserJourney, type BrowserJourney } from '../define/browser-journey.ts';
import type { Journey } from '../define/journey.ts';
import type { CoverageRequest } from '../measure/coverage.ts';
import { runBrowserJourney } from './browser-journey.ts';
import { launchChromium } from './chromium.ts';
import { runHttpJourney } from './http-journey.ts';

export type AnyJourney = Journey | BrowserJourney;

export interface JourneyOutcome {
  journey: string;
  runner: 'http' | 'browser';
  ok: boolean;
  /** `<step>: <what failed>` of the first failing step. */
  error?: string;
  traceId: string;
  steps: Array<{ name: string; ok: boolean; durationMs: number; detail: string; requests: Array<{ traceId: string; clientSpanId: string; status: number }> }>;
  /** Every request that got an answer, as trace coverage samples it. */
  coverage: CoverageRequest[];
  faroSessionId?: string;
  screenshot?: string;
}

export interface RunJourneyOptions {
  baseUrl: string;
  signal?: AbortSignal;
  runId?: string;
  now?: () => number;
  /** Browser journeys: a shared browser (see BrowserPool), and where failure screenshots go. */
  browser?: Browser;
  screenshotDir?: string;
}

export async function runJourney(j: AnyJourney, opts: RunJourneyOptions): Promise<JourneyOutcome> {
  if (isBrowserJourney(j)) {
    const r = await runBrowserJourney(j, {
      baseUrl: opts.baseUrl,
      ...(opts.browser ? { browser: opts.browser } : {}),
      ...(opts.runId ? { runId: opts.runId } : {}),
      ...(opts.screenshotDir ? { screenshotDir: opts.screenshotDir } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    const failed = r.steps.find((s) => !s.ok);
    return {
      journey: j.name,
      runner: 'browser',
      ok: r.ok,
      ...(failed ? { error: `${failed.name}: ${failed.error}` } : {}),
      traceId: r.traceId,
      steps: r.steps.map((s) => ({
        name: s.name,
        ok: s.ok,
        durationMs: s.durationMs,
        detail: s.error ?? s.requests.map((q) => `${q.method} ${q.path} ${q.status}`).join(', '),
        requests: s.requests,
      })),
      coverage: r.steps.flatMap((s, i) =>
        s.requests
          .filter((q) => q.status > 0)
          .map((q) => ({
            path: `${j.name}/${s.name}`,
            traceId: q.traceId,
            clientSpanId: q.clientSpanId,
            expectedSpans: j.steps[i]!.spans,
            services: j.trace.services,
          })),
      ),
      ...(r.faroSessionId ? { faroSessionId: r.faroSessionId } : {}),
      ...(r.screenshot ? { screenshot: r.screenshot } : {}),
    };
  }
  const r = await runHttpJourney(j, {
    baseUrl: opts.baseUrl,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.runId ? { runId: opts.runId } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const failed = r.steps.find((s) => !s.ok);
  return {
    journey: j.name,
    runner: 'http',
    ok: r.ok,
    ...(failed ? { error: `${failed.name}: ${failed.failedAssertions.join('; ')}` } : {}),
    traceId: r.traceId,
    steps: r.steps.map((s) => ({
      name: s.name,
      ok: s.ok,
      durationMs: s.durationMs,
      detail: s.ok ? String(s.status) : `${s.status} ${s.failedAssertions.join('; ')}`,
      requests: [{ traceId: s.traceId, clientSpanId: s.clientSpanId, status: s.status }],
    })),
    coverage: r.steps.flatMap((s, i) =>
      s.status > 0
        ? [{ path: `${j.name}/${s.name}`, traceId: s.traceId, clientSpanId: s.clientSpanId, expectedSpans: j.steps[i]!.spans, services: j.trace.services }]
        : [],
    ),
  };
}

/** One Chromium for every browser journey of a run, launched on first use. */
export class BrowserPool {
  private browser: Promise<Browser> | undefined;

  get(): Promise<Browser> {
    this.browser ??= launchChromium();
    return this.browser;
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = undefined;
    if (b) await (await b).close().catch(() => undefined);
  }
}
