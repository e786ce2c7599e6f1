// report.html: one self-contained file (works offline) a person reads after a drill — the
// pack's overall verdict first, then per run (one expanded, the rest collapsed) a verdict, the
// episode table beside what its figures mean, the load against its thresholds, a timeline of probe results with fault windows
// shaded and the detect/recover marks, error ratio and, per declared SLO, burn against that SLO's alert factors,
// alert transitions, and a restore's RPO/RTO breakdown; per bake its hourly windows
// (traffic, error ratio against each SLO, latency, Sev-1s and gaps). Charts are drawn by uPlot,
// inlined from its package; this module only prepares data and markup. Legends show each
// series' summary when no cursor is on a chart, so a print or a screenshot shows figures, not "--".
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatDuration } from '../define/duration.ts';
import type { RunEvent } from '../engine/types.ts';
import { burnRate, samplesFromRunLog, sloTargetsOfRecord } from '../measure/burn.ts';
import { burnThreshold, declaredSloIds, pageFactors, periodWindow, sloMeasureKey } from '../slo/conventions.ts';
import type { Episode } from '../measure/episodes.ts';
import { episodesOfRecord } from './record-episodes.ts';
import type { RunRecord } from './run-record.ts';
import type { BakeRecord } from '../measure/bake.ts';
import { listPackFiles } from './manifest.ts';
import { isBakeRecordPath } from './layout.ts';
import { writeFileAtomic } from './atomic-write.ts';
import type { LoadSummary } from '../load/runner.ts';
import { definitionsHtml, type MeasureDefinition } from './report-definitions.ts';
import {
  burnLegend,
  failuresLegend,
  latencyLegend,
  loadSectionHtml,
  meanMaxLegend,
  msOf,
  num,
  overallHtml,
  overallVerdict,
  pctOf,
  rangeLegend,
  ratioLegend,
} from './report-parts.ts';

/** How an episode recovered, with the recovery tail of one that needed the harness's revert. */
function recoveredByCell(e: Episode): string {
  const tail = e.recoveryTail?.value;
  return `<span class="recovery ${esc(e.recoveredBy)}">${esc(e.recoveredBy)}${typeof tail === 'number' ? ` (+${ms(tail)} after revert)` : ''}</span>`;
}

export interface ReportAssets {
  uplotJs: string;
  uplotCss: string;
}

export function loadReportAssets(): ReportAssets {
  const dir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return { uplotJs: readFileSync(join(dir, 'uPlot.iife.min.js'), 'utf8'), uplotCss: readFileSync(join(dir, 'uPlot.min.css'), 'utf8') };
}

/** One declared SLO's burn during a run, against its own objective and its period's factors. */
export interface SloBurnChart {
  sloId: string;
  objective: number;
  /** `30d`, `28d`. */
  period: string;
  /** Per second: the error ratio over this SLO's budget. */
  burn: number[];
  /** The page pairs' alert factors for this period, highest first (14.4 and 6 for 30 days). */
  factors: number[];
  /** The error ratio each factor stands for (factor × budget). */
  thresholds: number[];
  /** The run's recorded burn rate and budget consumed for this SLO. */
  burnRate: number | null;
  budgetConsumed: number | null;
  /** What the legend shows with no cursor on the chart: the burn's summary and each factor line's value. */
  legend: { burn: string; factors: string[] };
}

/** The plotted data of one run: times in seconds from its start. */
export interface RunChartData {
  id: string;
  probes: Array<{ name: string; t: number[]; latency: Array<number | null>; failed: Array<number | null> }>;
  errors: { t: number[]; ratio: number[] };
  /** One per SLO the drill declares and the record measured; none when it declares none. */
  slos: SloBurnChart[];
  /** SLOs the plan declares whose burn the record does not hold (records from before per-SLO burn). */
  unmeasured: string[];
  faults: Array<{ from: number; to: number; label: string }>;
  marks: Array<{ t: number; label: string; kind: 'detect' | 'recover' | 'mitigate' }>;
  /** What the legends show with no cursor on a chart (a static view): each series' summary. */
  legend: { x: string; probes: Array<{ latency: string; failed: string }>; errorRatio: string };
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : formatDuration(v));

/** Pure: what the charts of one run show. */
export function chartData(record: RunRecord, index: number): RunChartData {
  const t0 = record.startedAt;
  const sec = (t: number) => Math.round((t - t0) / 10) / 100;
  const probeEvents = record.events.filter((e): e is Extract<RunEvent, { kind: 'probe' }> => e.kind === 'probe');
  const probes = record.plan.steadyState.map((p) => {
    const mine = probeEvents.filter((e) => e.probe === p.name).sort((a, b) => a.started - b.started);
    return {
      name: p.name,
      t: mine.map((e) => sec(e.started)),
      latency: mine.map((e) => (e.latencyMs === undefined ? null : Math.round(e.latencyMs * 10) / 10)),
      failed: mine.map((e) => (e.ok ? null : Math.round((e.latencyMs ?? 0) * 10) / 10)),
    };
  });
  // Error ratio per second, from the same samples the burn measure used.
  const { samples } = samplesFromRunLog(record.events);
  const buckets = new Map<number, { req: number; err: number }>();
  for (const s of samples) {
    const k = Math.floor((s.t - t0) / 1000);
    const b = buckets.get(k) ?? { req: 0, err: 0 };
    b.req += s.requests;
    b.err += s.errors;
    buckets.set(k, b);
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  const ratio = keys.map((k) => buckets.get(k)!.err / buckets.get(k)!.req);
  const totals = [...buckets.values()].reduce((s, b) => ({ req: s.req + b.req, err: s.err + b.err }), { req: 0, err: 0 });
  // Burn only against the SLOs the drill declares, each with its own objective and factors.
  const targets = sloTargetsOfRecord(record);
  const declared = declaredSloIds(record.plan);
  const slos = declared
    .filter((id) => targets[id])
    .map((sloId): SloBurnChart => {
      const slo = targets[sloId]!;
      const factors = pageFactors(slo.periodMs);
      const thresholds = factors.map((f) => burnThreshold(f, slo));
      const burn = ratio.map((r) => burnRate(r, slo.objective));
      const burnRateValue = record.measures[sloMeasureKey(sloId, 'burnRate')]?.value ?? null;
      return {
        sloId,
        objective: slo.objective,
        period: periodWindow(slo.periodMs),
        burn,
        factors,
        thresholds,
        burnRate: burnRateValue,
        budgetConsumed: record.measures[sloMeasureKey(sloId, 'budgetConsumed')]?.value ?? null,
        legend: { burn: burnLegend(burn, burnRateValue), factors: factors.map((f, j) => `${f}× (error ratio ${pctOf(thresholds[j]!)})`) },
      };
    });
  const faults = record.events
    .filter((e): e is Extract<RunEvent, { kind: 'fault.injected' }> => e.kind === 'fault.injected')
    .map((e) => {
      const out = record.events.find((x) => (x.kind === 'fault.reverted' || x.kind === 'fault.revert-failed') && x.faultId === e.faultId);
      const inj = record.events.find((x) => x.kind === 'fault.injecting' && x.faultId === e.faultId) as
        Extract<RunEvent, { kind: 'fault.injecting' }> | undefined;
      return { from: sec(e.t), to: sec(out?.t ?? record.endedAt), label: `${inj?.phase ?? ''}: ${String(inj?.fault.kind ?? 'fault')}` };
    });
  const marks: RunChartData['marks'] = [];
  for (const ep of episodesOfRecord(record)) {
    if (ep.tDetect !== undefined) marks.push({ t: sec(ep.tDetect), label: `detected ${ep.phase} (TTD ${ms(ep.ttd.value)})`, kind: 'detect' });
    if (ep.tRecover !== undefined && !ep.noImpact)
      marks.push({ t: sec(ep.tRecover), label: `recovered ${ep.phase}: ${ep.recoveredBy} (TTR ${ms(ep.ttr.value)})`, kind: 'recover' });
  }
  for (const e of record.events)
    if (e.kind === 'mitigation') marks.push({ t: sec(e.t), label: `mitigation ${e.phase} by ${e.by}${e.ok ? '' : ' (failed)'}`, kind: 'mitigate' });
  const unmeasured = declared.filter((id) => !targets[id]);
  const legend = {
    x: rangeLegend(probes.flatMap((p) => p.t).concat(keys), 's'),
    probes: probes.map((p) => ({ latency: latencyLegend(p.latency), failed: failuresLegend(p.failed) })),
    errorRatio: ratioLegend(ratio, totals.req ? totals.err / totals.req : undefined),
  };
  return { id: `run${index}`, probes, errors: { t: keys, ratio }, slos, unmeasured, faults, marks, legend };
}

const pct = (v: number) => `${Number((v * 100).toPrecision(4))} %`;

/** The burn headings and chart slots of a run: one per declared SLO, or the error ratio alone when none is declared. */
function burnSection(data: RunChartData): string {
  const missing = data.unmeasured.length ? `<p class="meta">Declared but not measured in this record: ${data.unmeasured.map(esc).join(', ')}</p>` : '';
  if (data.slos.length === 0) {
    return `<h3>Error ratio <small>(no SLO declared: burn is not measured)</small></h3>${missing}
  <div class="chart" id="${data.id}-errors"></div>`;
  }
  const one = (s: SloBurnChart, i: number) => {
    const lines = s.factors.map((f, j) => `${f}× (error ratio ${pct(s.thresholds[j]!)})`).join(' and ');
    const figures =
      s.burnRate === null ? '' : ` · burn ${Number(s.burnRate.toPrecision(3))}× over the run, ${pct(s.budgetConsumed ?? 0)} of the ${s.period} budget`;
    const about = `objective ${pct(s.objective)} over ${s.period}; against the page factors ${lines}${figures}`;
    return `<h3>${esc(s.sloId)}: error ratio and burn rate <small>(${about})</small></h3>
  <div class="chart" id="${data.id}-burn-${i}"></div>`;
  };
  return `${data.slos.map(one).join('\n  ')}${missing}`;
}

/** The formula ids this run's figures were made with, per measure (`ttr` → {`ttr.v2`}), for the definitions box. */
function formulasOf(record: RunRecord): Record<string, Set<string>> {
  const out: Record<string, Set<string>> = {};
  for (const [key, m] of Object.entries(record.measures)) {
    const what = key.slice(key.lastIndexOf('.') + 1);
    if (!['ttd', 'ttr', 'impact', 'ttm'].includes(what) || typeof m?.formula !== 'string') continue;
    (out[what] ??= new Set()).add(m.formula);
  }
  return out;
}

function runSection(record: RunRecord, data: RunChartData, load?: LoadSummary): string {
  const episodes = episodesOfRecord(record);
  // TTM only once some phase has a mitigation measure, as in the CLI's summary.
  const ttmOf = (phase: string) => record.measures[`${phase}.ttm`];
  const withTtm = episodes.some((e) => ttmOf(e.phase));
  const columns: Array<MeasureDefinition['column']> = ['TTD', ...(withTtm ? (['TTM'] as const) : []), 'TTR', 'impact'];
  const alerts = record.events.filter((e): e is Extract<RunEvent, { kind: 'alert' }> => e.kind === 'alert');
  const restore = record.measures.rpo
    ? `<h3>Restore</h3><table><tr><th>RPO</th><td>${ms(record.measures.rpo.value)}</td><th>acknowledged rows lost</th><td>${esc(record.measures.lostRows?.value ?? '—')}</td><th>RTO</th><td>${ms(record.measures.rto?.value)}</td></tr></table>
       ${restoreBars(record)}`
    : '';
  return `<section class="run">
  <h2>${esc(record.drill)} <span class="verdict ${esc(record.verdict)}">${esc(record.verdict.toUpperCase())}</span></h2>
  <p class="meta">${esc(record.runId)} · ${esc(record.environment)} · ${esc(new Date(record.startedAt).toISOString())} · ${ms(record.endedAt - record.startedAt)}${record.reason ? ` · ${esc(record.reason)}` : ''}</p>
  <div class="beside"><table class="episodes"><tr><th>episode</th><th>fault</th><th>TTD</th>${withTtm ? '<th>TTM</th>' : ''}<th>TTR</th><th>impact</th><th>recovered by</th><th>alerts fired</th><th>within</th></tr>
  ${episodes
    .map(
      (
        e,
      ) => `<tr><td>${esc(e.phase)}</td><td>${esc(e.faultKind)}</td><td>${ms(e.ttd.value)}</td>${withTtm ? `<td title="${esc(ttmOf(e.phase)?.note ?? '')}">${ms(ttmOf(e.phase)?.value)}</td>` : ''}<td>${e.noImpact ? '0 (no impact)' : ms(e.ttr.value)}</td>
      <td title="${esc(e.impact.note ?? '')}">${ms(e.impact.value)}</td><td>${recoveredByCell(e)}</td>
      <td>${
        Object.entries(e.alertsFired)
          .map(([a, t]) => `${esc(a)} ${t === undefined ? '✗' : '✓'}`)
          .join(', ') || '—'
      }</td>
      <td>${e.recoverWithin === undefined ? '' : `${ms(e.recoverWithin)} ${e.ttr.value !== null && e.ttr.value <= e.recoverWithin ? '✓' : '✗'}`}</td></tr>`,
    )
    .join('\n')}</table>
  ${definitionsHtml(columns, formulasOf(record))}</div>
  ${loadSectionHtml(record, load)}
  <h3>Steady-state probes <small>(latency, failures in red; faults shaded; detect and recover marked)</small></h3>
  <div class="chart" id="${data.id}-probes"></div>
  ${burnSection(data)}
  ${restore}
  <h3>Alert transitions</h3>
  ${alerts.length ? `<table><tr><th>time</th><th>alert</th><th>state</th><th>source</th></tr>${alerts.map((a) => `<tr><td>+${ms(a.t - record.startedAt)}</td><td>${esc(a.alert)}</td><td>${esc(a.state)}</td><td>${esc(a.source)}</td></tr>`).join('')}</table>` : '<p>none</p>'}
  <h3>Checks</h3>
  <ul class="checks">${record.checks.map((c) => `<li class="${c.ok ? 'ok' : 'bad'}">${c.ok ? '✓' : '✗'} ${esc(c.name)} — ${esc(c.detail)}</li>`).join('')}</ul>
</section>`;
}

function restoreBars(record: RunRecord): string {
  const b = (record.facts?.restoreBreakdown ?? undefined) as Record<string, number> | undefined;
  if (!b) return '';
  const total = Object.values(b).reduce((s, v) => s + v, 0) || 1;
  return `<div class="bars">${Object.entries(b)
    .map(([k, v]) => `<div class="bar ${esc(k)}" style="width:${((v / total) * 100).toFixed(1)}%" title="${esc(k)} ${ms(v)}">${esc(k)} ${ms(v)}</div>`)
    .join('')}</div>`;
}

/** The plotted data of one bake: x in hours since its start, one point per checkpoint window. */
export interface BakeChartData {
  id: string;
  hours: number[];
  requestsPerSecond: Array<number | null>;
  errorRatio: Array<number | null>;
  p50: Array<number | null>;
  p95: Array<number | null>;
  /** Error-ratio ceilings, one per SLO (1 − objective). */
  ceilings: Array<{ id: string; ratio: number }>;
  /** Windows to shade: no data (gap) or a Sev-1 fired, in hours. */
  gaps: Array<{ from: number; to: number }>;
  sev1: Array<{ from: number; to: number; label: string }>;
  /** What the legends show with no cursor on a chart (a static view). */
  legend: { x: string; requestsPerSecond: string; errorRatio: string; ceilings: string[]; p50: string; p95: string };
}

/** Pure: what the charts of one bake show. */
export function bakeChartData(bake: BakeRecord, index: number): BakeChartData {
  const h = (t: number) => Math.round(((t - bake.startedAt) / 3_600_000) * 1000) / 1000;
  const cs = [...bake.checkpoints].sort((a, b) => a.index - b.index);
  const hours = cs.map((c) => h(c.to));
  const requestsPerSecond = cs.map((c) => (c.gap ? null : Math.round((c.requests / ((c.to - c.from) / 1000)) * 100) / 100));
  const errorRatio = cs.map((c) => (c.gap ? null : c.errorRatio));
  const p50 = cs.map((c) => c.p50Ms);
  const p95 = cs.map((c) => c.p95Ms);
  const ceilings = (bake.criteria?.slos ?? []).map((s) => ({ id: s.id, ratio: 1 - s.objective }));
  const requests = cs.reduce((s, c) => s + (c.gap ? 0 : c.requests), 0);
  const errors = cs.reduce((s, c) => s + (c.gap ? 0 : c.errors), 0);
  return {
    id: `bake${index}`,
    hours,
    requestsPerSecond,
    errorRatio,
    p50,
    p95,
    ceilings,
    gaps: cs.filter((c) => c.gap).map((c) => ({ from: h(c.from), to: h(c.to) })),
    sev1: cs.filter((c) => c.sev1.length).map((c) => ({ from: h(c.from), to: h(c.to), label: c.sev1.join(', ') })),
    legend: {
      x: rangeLegend(hours, 'h'),
      requestsPerSecond: meanMaxLegend(requestsPerSecond, (v) => `${num(v)}/s`),
      errorRatio: ratioLegend(errorRatio, requests ? errors / requests : undefined),
      ceilings: ceilings.map((c) => pctOf(c.ratio)),
      p50: meanMaxLegend(p50, msOf),
      p95: meanMaxLegend(p95, msOf),
    },
  };
}

function bakeSection(bake: BakeRecord, data: BakeChartData): string {
  const window = formatDuration(bake.checkpoint);
  const simulated = bake.telemetry === 'simulated' ? ' <span class="verdict error">SIMULATED telemetry — a rehearsal, not a measurement</span>' : '';
  const rows = [...bake.checkpoints]
    .sort((a, b) => a.index - b.index)
    .map(
      (c) =>
        `<tr class="${c.gap ? 'gap' : c.sev1.length ? 'sev1' : ''}"><td>${c.index + 1}</td><td>${esc(new Date(c.from).toISOString())}</td><td>${c.gap ? 'no data (harness down)' : c.requests}</td><td>${c.errorRatio === null ? '—' : (c.errorRatio * 100).toFixed(3) + '%'}</td><td>${ms(c.p50Ms)}</td><td>${ms(c.p95Ms)}</td><td>${esc(c.sev1.join(', ') || '—')}</td><td>${c.synthetics.runs ? `${c.synthetics.runs - c.synthetics.failed}/${c.synthetics.runs}` : '—'}</td></tr>`,
    )
    .join('');
  return `<section class="run bake">
  <h2>${esc(bake.title ?? bake.bake)} <span class="verdict ${esc(bake.verdict)}">${esc(bake.verdict.toUpperCase())}</span>${simulated}</h2>
  <p class="meta">${esc(bake.bake)} · ${esc(new Date(bake.startedAt).toISOString())} · ${ms(bake.duration)} in ${bake.checkpoints.length} windows of ${window}${bake.resumedFrom !== null ? ` · resumed at window ${bake.resumedFrom + 1}` : ''} · ${bake.sev1Total} Sev-1 · ${bake.gaps} gap(s)</p>
  <ul class="checks">${bake.checks.map((c) => `<li class="${c.ok ? 'ok' : 'bad'}">${c.ok ? '✓' : '✗'} ${esc(c.name)} — ${esc(c.detail)}</li>`).join('')}</ul>
  <h3>Traffic and error ratio per ${window} <small>(SLO ceilings dashed; Sev-1 windows red, gaps grey)</small></h3>
  <div class="chart" id="${data.id}-errors"></div>
  <h3>Latency per ${window} <small>(p50 and p95)</small></h3>
  <div class="chart" id="${data.id}-latency"></div>
  <details><summary>every window</summary><table><tr><th>#</th><th>from</th><th>requests</th><th>errors</th><th>p50</th><th>p95</th><th>Sev-1</th><th>synthetics ok</th></tr>${rows}</table></details>
</section>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2733}h1{margin:0 0 4px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
.verdict{font-size:13px;padding:2px 8px;border-radius:4px;color:#fff;vertical-align:middle}.pass{background:#1a7f37}.fail{background:#cf222e}.aborted{background:#bf8700}.error{background:#6e7781}
.meta{color:#57606a}.chart{margin:4px 0 12px}.checks li.bad{color:#cf222e}.bars{display:flex;width:100%;max-width:900px;height:26px;font-size:12px;color:#fff}
.bar{overflow:hidden;white-space:nowrap;padding:4px}.detect{background:#8250df}.restore{background:#0969da}.replay{background:#1a7f37}.warmUp{background:#bf8700}section.run{border-top:2px solid #d0d7de;padding-top:8px}
tr.gap td{color:#6e7781;font-style:italic}tr.sev1 td{color:#cf222e}
.overall{font-size:16px;padding:10px 14px;border-radius:6px;margin:10px 0 14px;color:#fff}.overall.none{background:#6e7781}.overall ul{margin:6px 0 0;font-size:14px}.overall a{color:#fff}
.overall-label{font-weight:700;margin-right:8px}details.item{margin:8px 0}details.item>summary{cursor:pointer;font-size:15px;padding:6px 0}details.item>summary .verdict{margin-right:6px}
.beside{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.beside>table{flex:0 0 auto;margin:0}.definitions{flex:1 1 220px;max-width:520px;font-size:12.5px;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:6px 12px}
.definitions h4{margin:2px 0 4px}.definitions dl{margin:0 0 6px}.definitions dt{font-weight:600;margin-top:4px}.definitions dd{margin:0 0 0 12px}.definitions dl.times{color:#57606a}
table.load tr.bad td{color:#cf222e}.load-headline{margin:4px 0}`;

/** The page's own script: draws every run's charts with uPlot from the embedded data. */
const DRAW = `
const { runs, bakes } = JSON.parse(document.getElementById('report-data').textContent);
const width = Math.min(1100, document.body.clientWidth - 20);
// With no cursor on a chart uPlot asks each series for its value at no index and would print "--":
// the series' summary (from the page's data) is shown instead, so a static view shows figures.
const legendValue = (summary, fmt) => (u, v, sidx, idx) => (idx == null ? summary : v == null ? '—' : fmt(v));
const fig = (v) => String(+Number(v).toPrecision(3));
const asMs = (v) => fig(v) + ' ms';
const asPct = (v) => fig(v * 100) + ' %';
const asX = (v) => fig(v) + '×';
// A link to a collapsed run opens it.
function openTarget() {
  const el = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  if (el && el.tagName === 'DETAILS') el.open = true;
}
addEventListener('hashchange', openTarget);
openTarget();
function shade(runData) {
  return (u) => {
    const ctx = u.ctx;
    ctx.save();
    for (const f of runData.faults) {
      const x0 = u.valToPos(f.from, 'x', true), x1 = u.valToPos(f.to, 'x', true);
      ctx.fillStyle = 'rgba(207,34,46,0.10)';
      ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
    }
    for (const m of runData.marks) {
      const x = u.valToPos(m.t, 'x', true);
      ctx.strokeStyle = m.kind === 'detect' ? '#8250df' : m.kind === 'mitigate' ? '#bf8700' : '#1a7f37';
      ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
    }
    ctx.restore();
  };
}
const palette = ['#0969da', '#bf8700', '#8250df', '#1a7f37'];
for (const r of runs) {
  const xs = [...new Set(r.probes.flatMap((p) => p.t))].sort((a, b) => a - b);
  const xSeries = { label: 's', value: legendValue(r.legend.x, (v) => fig(v) + ' s') };
  const series = [xSeries];
  const data = [xs];
  r.probes.forEach((p, i) => {
    const at = new Map(p.t.map((t, j) => [t, j]));
    data.push(xs.map((t) => (at.has(t) ? p.latency[at.get(t)] : null)));
    data.push(xs.map((t) => (at.has(t) ? p.failed[at.get(t)] : null)));
    const lg = r.legend.probes[i];
    series.push({ label: p.name + ' ms', stroke: palette[i % palette.length], spanGaps: true, value: legendValue(lg.latency, asMs) });
    series.push({ label: p.name + ' failed', stroke: '#cf222e', width: 0, points: { show: true, size: 7, fill: '#cf222e' }, value: legendValue(lg.failed, (v) => 'failed, ' + asMs(v)) });
  });
  new uPlot({ width, height: 240, scales: { x: { time: false } }, series, axes: [{ label: 'seconds since start' }, { label: 'ms' }], hooks: { drawClear: [shade(r)] } }, data, document.getElementById(r.id + '-probes'));
  const bx = r.errors.t;
  const ratioSeries = { label: 'error ratio', stroke: '#cf222e', scale: 'ratio', value: legendValue(r.legend.errorRatio, asPct) };
  const xAxis = { label: 'seconds since start' };
  const ratioAxis = { scale: 'ratio', label: 'error ratio' };
  if (r.slos.length === 0) {
    const scales = { x: { time: false }, ratio: { range: [0, 1] } };
    const opts = { width, height: 200, scales, series: [xSeries, ratioSeries], axes: [xAxis, ratioAxis] };
    new uPlot({ ...opts, hooks: { drawClear: [shade(r)] } }, [bx, r.errors.ratio], document.getElementById(r.id + '-errors'));
  }
  r.slos.forEach((s, i) => {
    // Each SLO's burn against its own factors: the dashed lines are where its page alerts trip.
    const bdata = [bx, r.errors.ratio, s.burn, ...s.factors.map((f) => bx.map(() => f))];
    const factorLines = s.factors.map((f, j) => ({ label: f + '× factor', stroke: '#57606a', dash: [6, 4], scale: 'burn', value: legendValue(s.legend.factors[j], asX) }));
    const burnSeries = { label: s.sloId + ' burn ×', stroke: '#0969da', scale: 'burn', value: legendValue(s.legend.burn, asX) };
    const bseries = [xSeries, ratioSeries, burnSeries, ...factorLines];
    const axes = [xAxis, ratioAxis, { scale: 'burn', side: 1, label: 'burn ×' }];
    const opts = { width, height: 200, scales: { x: { time: false }, ratio: { range: [0, 1] }, burn: {} }, series: bseries, axes };
    new uPlot({ ...opts, hooks: { drawClear: [shade(r)] } }, bdata, document.getElementById(r.id + '-burn-' + i));
  });
}
function shadeWindows(b) {
  return (u) => {
    const ctx = u.ctx;
    ctx.save();
    for (const [list, colour] of [[b.gaps, 'rgba(110,119,129,0.18)'], [b.sev1, 'rgba(207,34,46,0.16)']]) {
      for (const w of list) {
        const x0 = u.valToPos(w.from, 'x', true), x1 = u.valToPos(w.to, 'x', true);
        ctx.fillStyle = colour;
        ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
      }
    }
    ctx.restore();
  };
}
for (const b of bakes) {
  const x = b.hours;
  const hoursAxis = { label: 'hours since the bake started (window end)' };
  const hSeries = { label: 'h', value: legendValue(b.legend.x, (v) => fig(v) + ' h') };
  const eseries = [hSeries, { label: 'req/s', stroke: '#0969da', scale: 'rps', spanGaps: false, value: legendValue(b.legend.requestsPerSecond, (v) => fig(v) + '/s') },
    { label: 'error ratio', stroke: '#cf222e', scale: 'ratio', spanGaps: false, value: legendValue(b.legend.errorRatio, asPct) },
    ...b.ceilings.map((c, j) => ({ label: c.id + ' ceiling', stroke: '#57606a', dash: [6, 4], scale: 'ratio', value: legendValue(b.legend.ceilings[j], asPct) }))];
  const edata = [x, b.requestsPerSecond, b.errorRatio, ...b.ceilings.map((c) => x.map(() => c.ratio))];
  // The ratio axis runs to just above the highest SLO ceiling or error ratio, in percent.
  // A reduce, not a spread into Math.max: a long bake has many windows (runs in the page, outside lint's reach).
  const top = [...b.ceilings.map((c) => c.ratio), ...b.errorRatio.filter((v) => v !== null)].reduce((m, v) => (v > m ? v : m), 1e-6) * 1.25;
  const pct = (u, vals) => vals.map((v) => +(v * 100).toPrecision(3) + '%');
  new uPlot({ width, height: 220, scales: { x: { time: false }, rps: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] }, ratio: { range: [0, top] } }, series: eseries, axes: [hoursAxis, { scale: 'rps', label: 'req/s' }, { scale: 'ratio', side: 1, label: 'error ratio', values: pct, size: 70 }], hooks: { drawClear: [shadeWindows(b)] } }, edata, document.getElementById(b.id + '-errors'));
  new uPlot({ width, height: 200, scales: { x: { time: false } }, series: [hSeries, { label: 'p50 ms', stroke: '#1a7f37', value: legendValue(b.legend.p50, asMs) }, { label: 'p95 ms', stroke: '#bf8700', value: legendValue(b.legend.p95, asMs) }], axes: [hoursAxis, { label: 'ms' }], hooks: { drawClear: [shadeWindows(b)] } }, [x, b.p50, b.p95], document.getElementById(b.id + '-latency'));
}
`;

export interface RenderOptions {
  /** Each run's load summary (`load/<runId>.summary.json`), by runId: its headline figures beside the thresholds. */
  loadSummaries?: Readonly<Record<string, LoadSummary>>;
}

/** One run or bake, collapsible: the summary line names it and its verdict. */
function collapsible(anchor: string, open: boolean, verdict: string, line: string, body: string): string {
  return `<details class="item" id="${esc(anchor)}"${open ? ' open' : ''}><summary><span class="verdict ${esc(verdict)}">${esc(verdict.toUpperCase())}</span> ${line}</summary>
${body}
</details>`;
}

/**
 * Pure: the whole page. The overall verdict first; then the runs, newest first, then the bakes,
 * newest first. One is expanded — the first that did not pass, else the newest — the rest collapsed.
 */
export function renderReport(records: RunRecord[], assets: ReportAssets, title: string, bakes: BakeRecord[] = [], options: RenderOptions = {}): string {
  const sorted = [...records].sort((a, b) => b.startedAt - a.startedAt);
  const data = sorted.map((r, i) => chartData(r, i));
  const sortedBakes = [...bakes].sort((a, b) => b.startedAt - a.startedAt);
  const bakeData = sortedBakes.map((b, i) => bakeChartData(b, i));
  const overall = overallVerdict(
    sorted.map((record, i) => ({ record, anchor: data[i]!.id })),
    sortedBakes.map((bake, i) => ({ bake, anchor: bakeData[i]!.id })),
  );
  const order = [
    ...sorted.map((r, i) => ({ id: data[i]!.id, verdict: r.verdict })),
    ...sortedBakes.map((b, i) => ({ id: bakeData[i]!.id, verdict: b.verdict })),
  ];
  const expanded = (order.find((o) => o.verdict !== 'pass') ?? order[0])?.id;
  const runItems = sorted.map((r, i) => {
    const line = `${esc(r.drill)} · ${esc(r.runId)} · ${esc(r.environment)} · ${esc(new Date(r.startedAt).toISOString())} · MTTR ${ms(r.measures.mttr?.value)}`;
    return collapsible(data[i]!.id, data[i]!.id === expanded, r.verdict, line, runSection(r, data[i]!, options.loadSummaries?.[r.runId]));
  });
  const bakeItems = sortedBakes.map((b, i) => {
    const line = `bake ${esc(b.title ?? b.bake)} · ${esc(new Date(b.startedAt).toISOString())} · ${b.checkpoints.length} windows${b.telemetry === 'simulated' ? ' · SIMULATED telemetry' : ''}`;
    return collapsible(bakeData[i]!.id, bakeData[i]!.id === expanded, b.verdict, line, bakeSection(b, bakeData[i]!));
  });
  // Embedded JSON: '<' escaped so no data can close the script element.
  const json = JSON.stringify({ runs: data, bakes: bakeData }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${assets.uplotCss}</style><style>${STYLE}</style></head>
<body>
<h1>${esc(title)}</h1>
${overallHtml(overall)}
<p class="meta">${sorted.length} run(s)${sortedBakes.length ? ` · ${sortedBakes.length} bake(s)` : ''} · generated ${esc(new Date().toISOString())} by drillbook · figures are re-derivable from the run records with <code>drill verify</code></p>
<table><tr><th>run</th><th>drill</th><th>verdict</th><th>MTTR</th></tr>${sorted.map((r, i) => `<tr><td><a href="#${data[i]!.id}">${esc(r.runId)}</a></td><td>${esc(r.drill)}</td><td><span class="verdict ${esc(r.verdict)}">${esc(r.verdict)}</span></td><td>${ms(r.measures.mttr?.value)}</td></tr>`).join('')}</table>
${runItems.join('\n')}
${bakeItems.join('\n')}
<script>${assets.uplotJs}</script>
<script type="application/json" id="report-data">${json}</script>
<script>${DRAW}</script>
</body></html>`;
}

/** Reads every run and bake record of a pack and writes its report.html. */
export function writeReport(packDir: string, title = `Drillbook evidence — ${packDir.split('/').pop()}`): string {
  const files = listPackFiles(packDir);
  const read = <T>(p: string) => JSON.parse(readFileSync(join(packDir, p), 'utf8')) as T;
  const records = files.filter((p) => p.startsWith('chaos-dr/') && p.endsWith('.json')).map((p) => read<RunRecord>(p));
  const bakes = files.filter(isBakeRecordPath).map((p) => read<BakeRecord>(p));
  const loadSummaries: Record<string, LoadSummary> = {};
  for (const r of records) if (files.includes(`load/${r.runId}.summary.json`)) loadSummaries[r.runId] = read<LoadSummary>(`load/${r.runId}.summary.json`);
  const path = join(packDir, 'report.html');
  writeFileAtomic(path, renderReport(records, loadReportAssets(), title, bakes, { loadSummaries }));
  return path;
}
