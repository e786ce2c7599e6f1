// Parts of report.html a reviewer reads first: the overall verdict of the pack, each run's load
// results against its thresholds, and the texts chart legends show when no cursor is on a chart
// (a static view: a print, a screenshot, a page nobody hovers). Pure: data in, markup or text out.
import type { LoadSummary } from '../load/runner.ts';
import type { BakeRecord } from '../measure/bake.ts';
import type { LoadThresholdResult } from '../measure/run.ts';
import type { RunRecord } from './run-record.ts';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A figure to at most 3 significant digits, without exponent noise. */
export const num = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3))));
export const pctOf = (v: number): string => `${num(v * 100)} %`;
export const msOf = (v: number): string => `${num(v)} ms`;

// ---------------------------------------------------------------------------------------------
// The overall verdict

export type OverallVerdict = 'pass' | 'fail' | 'error' | 'aborted' | 'none';

export interface Overall {
  verdict: OverallVerdict;
  /** One line for the banner. */
  headline: string;
  /** Each run or bake that did not pass, with the anchor of its section. */
  notPassed: Array<{ anchor: string; what: string; verdict: string; reason?: string }>;
}

/** Why a run did not pass: its reason, else the checks that failed (the first three). */
function whyNot(record: RunRecord): string | undefined {
  if (record.verdict === 'pass') return undefined;
  if (record.reason) return record.reason;
  const failed = record.checks.filter((c) => !c.ok).map((c) => c.name);
  return failed.length ? `failed: ${failed.slice(0, 3).join('; ')}${failed.length > 3 ? ` and ${failed.length - 3} more` : ''}` : undefined;
}

/** The most telling verdict first: a failed drill is evidence against the release; an error or abort is a missing measurement. */
const SEVERITY: readonly OverallVerdict[] = ['fail', 'error', 'aborted', 'pass'];

/**
 * Pure: the pack's overall verdict — PASS only when every run and bake passed; else the most
 * severe verdict among them, naming each that did not pass. `runs` and `bakes` in page order.
 */
export function overallVerdict(
  runs: ReadonlyArray<{ record: RunRecord; anchor: string }>,
  bakes: ReadonlyArray<{ bake: BakeRecord; anchor: string }>,
): Overall {
  const items = [
    ...runs.map(({ record, anchor }) => ({
      anchor,
      what: `${record.drill} ${record.runId}`,
      verdict: record.verdict,
      ...(whyNot(record) ? { reason: whyNot(record) } : {}),
    })),
    ...bakes.map(({ bake, anchor }) => ({ anchor, what: `bake ${bake.bake}`, verdict: bake.verdict })),
  ];
  if (items.length === 0) return { verdict: 'none', headline: 'No runs or bakes in this pack yet.', notPassed: [] };
  const notPassed = items.filter((i) => i.verdict !== 'pass');
  const verdict = SEVERITY.find((v) => items.some((i) => i.verdict === v)) ?? 'pass';
  const count = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const parts = [runs.length ? count(runs.length, 'run') : '', bakes.length ? count(bakes.length, 'bake') : ''].filter(Boolean).join(' and ');
  const simulated = bakes.filter((b) => b.bake.telemetry === 'simulated').length;
  const rehearsal = simulated ? ` ${count(simulated, 'bake')} ran on SIMULATED telemetry: a rehearsal, not a measurement.` : '';
  const headline = notPassed.length
    ? `${notPassed.length} of ${parts} did not pass.${rehearsal}`
    : `${items.length === 1 ? 'The' : `All ${items.length}:`} ${parts} passed.${rehearsal}`;
  return { verdict, headline, notPassed };
}

export function overallHtml(o: Overall): string {
  const list = o.notPassed.length
    ? `<ul>${o.notPassed.map((n) => `<li><a href="#${esc(n.anchor)}">${esc(n.what)}</a>: ${esc(n.verdict.toUpperCase())}${n.reason ? ` — ${esc(n.reason)}` : ''}</li>`).join('')}</ul>`
    : '';
  const label = o.verdict === 'none' ? 'NO EVIDENCE' : o.verdict.toUpperCase();
  return `<div class="overall ${esc(o.verdict)}" id="overall"><span class="overall-label">Overall: ${label}</span> <span>${esc(o.headline)}</span>${list}</div>`;
}

// ---------------------------------------------------------------------------------------------
// Load results with thresholds

/** The aggregate a k6 threshold expression tests (`p(95)<500` → `p(95)`, `rate<0.01` → `rate`). */
export function thresholdAggregate(threshold: string): string | undefined {
  return /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(?:<=|>=|<|>|===|==|!=)/.exec(threshold)?.[1];
}

/** A metric's value as a person reads it: durations in ms, rates as a share, counts whole. */
export function metricValue(metric: string, aggregate: string, v: number): string {
  if (aggregate === 'rate' && !/^(http_reqs|iterations|data_|dropped)/.test(metric)) return pctOf(v);
  if (/duration|_ms$|latency/.test(metric) && aggregate !== 'count' && aggregate !== 'rate') return msOf(v);
  if (aggregate === 'rate') return `${num(v)}/s`;
  return num(v);
}

function measured(t: LoadThresholdResult): string {
  const agg = thresholdAggregate(t.threshold);
  const v = agg === undefined ? undefined : (t.values[agg] ?? (agg === 'p(50)' ? t.values.med : undefined));
  if (agg !== undefined && v !== undefined) return `${esc(agg)} = ${esc(metricValue(t.metric, agg, v))}`;
  return Object.entries(t.values)
    .map(([k, x]) => `${esc(k)}=${esc(metricValue(t.metric, k, x))}`)
    .join(' ');
}

/** The load's headline figures from its summary file (when the pack holds one). */
function headline(s: LoadSummary): string {
  const m = (name: string) => s.metrics[name]?.values;
  const parts: string[] = [];
  const reqs = m('http_reqs');
  if (reqs?.count !== undefined) parts.push(`${num(reqs.count)} requests (${num(reqs.rate ?? 0)}/s)`);
  const failed = m('http_req_failed');
  if (failed?.rate !== undefined) parts.push(`${pctOf(failed.rate)} failed`);
  const dur = m('http_req_duration');
  if (dur)
    parts.push(
      ['med', 'p(95)', 'p(99)']
        .filter((k) => dur[k] !== undefined)
        .map((k) => `${k === 'med' ? 'p50' : k.replace(/[()]/g, '')} ${msOf(dur[k]!)}`)
        .join(' · '),
    );
  const vus = m('vus_max') ?? m('vus');
  if (vus?.max !== undefined) parts.push(`up to ${num(vus.max)} VUs`);
  parts.push(`${num(s.state.testRunDurationMs / 1000)} s${s.state.aborted ? ` (stopped early${s.state.abortReason ? `: ${s.state.abortReason}` : ''})` : ''}`);
  if (s.generator) parts.push(`generator CPU ${pctOf(s.generator.cpuShare)} of a core`);
  return parts.filter(Boolean).join(' · ');
}

/** Pure: a run's load section — its thresholds (each a check of the verdict) and the summary's figures. Empty when the run had no load. */
export function loadSectionHtml(record: Pick<RunRecord, 'loadThresholds'>, summary?: LoadSummary): string {
  const thresholds = record.loadThresholds ?? [];
  if (!thresholds.length && !summary) return '';
  const rows = thresholds
    .map(
      (t) =>
        `<tr class="${t.ok ? 'ok' : 'bad'}"><td>${esc(t.metric)}</td><td><code>${esc(t.threshold)}</code></td><td>${measured(t)}</td><td>${t.ok ? '✓ held' : '✗ crossed'}</td></tr>`,
    )
    .join('');
  const table = thresholds.length
    ? `<table class="load"><tr><th>metric</th><th>threshold</th><th>measured</th><th>result</th></tr>${rows}</table>`
    : '<p class="meta">The load profile declares no thresholds.</p>';
  return `<h3>Load <small>(each threshold of the profile is a check of the verdict)</small></h3>
  ${summary ? `<p class="meta load-headline">${esc(headline(summary))}</p>` : ''}
  ${table}`;
}

// ---------------------------------------------------------------------------------------------
// Legend texts for a static view

const finite = (xs: ReadonlyArray<number | null>): number[] => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
const highest = (xs: readonly number[]) => xs.reduce((m, v) => (v > m ? v : m), -Infinity);
const lowest = (xs: readonly number[]) => xs.reduce((m, v) => (v < m ? v : m), Infinity);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

/** The x range of a chart: `0–40 s`. */
export function rangeLegend(xs: readonly number[], unit: string): string {
  return xs.length ? `${num(lowest(xs))}–${num(highest(xs))} ${unit}` : 'no data';
}

/** A latency series: `median 3 ms · max 12 ms`. */
export function latencyLegend(values: ReadonlyArray<number | null>): string {
  const xs = finite(values);
  return xs.length ? `median ${msOf(median(xs))} · max ${msOf(highest(xs))}` : 'no data';
}

/** A probe's failures: `8 of 40 failed`. */
export function failuresLegend(failed: ReadonlyArray<number | null>): string {
  return `${finite(failed).length} of ${failed.length} failed`;
}

/** An error ratio per second, with the run's overall ratio: `overall 2.5 % · max 40 %`. */
export function ratioLegend(ratio: ReadonlyArray<number | null>, overall?: number): string {
  const xs = finite(ratio);
  if (!xs.length) return 'no data';
  return `${overall === undefined ? `mean ${pctOf(xs.reduce((s, v) => s + v, 0) / xs.length)}` : `overall ${pctOf(overall)}`} · max ${pctOf(highest(xs))}`;
}

/** A burn series: `peak 40× · over the run 2.5×`. */
export function burnLegend(burn: readonly number[], overRun: number | null): string {
  const xs = finite(burn);
  if (!xs.length) return 'no data';
  return `peak ${num(highest(xs))}×${overRun === null ? '' : ` · over the run ${num(overRun)}×`}`;
}

/** A series of per-window values: `mean 30 · max 31` with a unit. */
export function meanMaxLegend(values: ReadonlyArray<number | null>, fmt: (v: number) => string): string {
  const xs = finite(values);
  return xs.length ? `mean ${fmt(xs.reduce((s, v) => s + v, 0) / xs.length)} · max ${fmt(highest(xs))}` : 'no data';
}
