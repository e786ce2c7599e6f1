// report.html: one self-contained file (works offline) a person reads after a drill —
// per run a verdict, the episode table, a timeline of probe results with fault windows
// shaded and the detect/recover marks, error ratio and burn against the alert factors,
// alert transitions, and a restore's RPO/RTO breakdown. Charts are drawn by uPlot,
// inlined from its package; this module only prepares data and markup.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatDuration } from '../define/duration.ts';
import type { RunEvent } from '../engine/types.ts';
import { samplesFromRunLog } from '../measure/burn.ts';
import { measureEpisodes } from '../measure/episodes.ts';
import type { RunRecord } from './run-record.ts';
import { listPackFiles } from './manifest.ts';
import { writeFileAtomic } from './atomic-write.ts';

export interface ReportAssets {
  uplotJs: string;
  uplotCss: string;
}

export function loadReportAssets(): ReportAssets {
  const dir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return { uplotJs: readFileSync(join(dir, 'uPlot.iife.min.js'), 'utf8'), uplotCss: readFileSync(join(dir, 'uPlot.min.css'), 'utf8') };
}

/** The plotted data of one run: times in seconds from its start. */
export interface RunChartData {
  id: string;
  probes: Array<{ name: string; t: number[]; latency: Array<number | null>; failed: Array<number | null> }>;
  errors: { t: number[]; ratio: number[]; burn: number[] };
  faults: Array<{ from: number; to: number; label: string }>;
  marks: Array<{ t: number; label: string; kind: 'detect' | 'recover' }>;
  factors: number[];
  objective: number;
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
  const objective = ((record.measures.burnRate?.inputs as { objective?: number } | undefined)?.objective) ?? 0.999;
  const ratio = keys.map((k) => buckets.get(k)!.err / buckets.get(k)!.req);
  const faults = record.events
    .filter((e): e is Extract<RunEvent, { kind: 'fault.injected' }> => e.kind === 'fault.injected')
    .map((e) => {
      const out = record.events.find((x) => (x.kind === 'fault.reverted' || x.kind === 'fault.revert-failed') && x.faultId === e.faultId);
      const inj = record.events.find((x) => x.kind === 'fault.injecting' && x.faultId === e.faultId) as Extract<RunEvent, { kind: 'fault.injecting' }> | undefined;
      return { from: sec(e.t), to: sec(out?.t ?? record.endedAt), label: `${inj?.phase ?? ''}: ${String(inj?.fault.kind ?? 'fault')}` };
    });
  const marks: RunChartData['marks'] = [];
  for (const ep of measureEpisodes(record.events, record.plan)) {
    if (ep.tDetect !== undefined) marks.push({ t: sec(ep.tDetect), label: `detected ${ep.phase} (TTD ${ms(ep.ttd.value)})`, kind: 'detect' });
    if (ep.tRecover !== undefined) marks.push({ t: sec(ep.tRecover), label: `recovered ${ep.phase} (TTR ${ms(ep.ttr.value)})`, kind: 'recover' });
  }
  return { id: `run${index}`, probes, errors: { t: keys, ratio, burn: ratio.map((r) => r / (1 - objective)) }, faults, marks, factors: [14.4, 6], objective };
}

function runSection(record: RunRecord, data: RunChartData): string {
  const episodes = measureEpisodes(record.events, record.plan);
  const alerts = record.events.filter((e): e is Extract<RunEvent, { kind: 'alert' }> => e.kind === 'alert');
  const restore = record.measures.rpo
    ? `<h3>Restore</h3><table><tr><th>RPO</th><td>${ms(record.measures.rpo.value)}</td><th>acknowledged rows lost</th><td>${esc(record.measures.lostRows?.value ?? '—')}</td><th>RTO</th><td>${ms(record.measures.rto?.value)}</td></tr></table>
       ${restoreBars(record)}`
    : '';
  return `<section class="run">
  <h2>${esc(record.drill)} <span class="verdict ${esc(record.verdict)}">${esc(record.verdict.toUpperCase())}</span></h2>
  <p class="meta">${esc(record.runId)} · ${esc(record.environment)} · ${esc(new Date(record.startedAt).toISOString())} · ${ms(record.endedAt - record.startedAt)}${record.reason ? ` · ${esc(record.reason)}` : ''}</p>
  <table><tr><th>episode</th><th>fault</th><th>TTD</th><th>TTR</th><th>impact</th><th>alerts fired</th><th>within</th></tr>
  ${episodes
    .map(
      (e) => `<tr><td>${esc(e.phase)}</td><td>${esc(e.faultKind)}</td><td>${ms(e.ttd.value)}</td><td>${e.noImpact ? '0 (no impact)' : ms(e.ttr.value)}</td><td>${ms(e.impact.value)}</td>
      <td>${Object.entries(e.alertsFired).map(([a, t]) => `${esc(a)} ${t === undefined ? '✗' : '✓'}`).join(', ') || '—'}</td>
      <td>${e.recoverWithin === undefined ? '' : `${ms(e.recoverWithin)} ${e.ttr.value !== null && e.ttr.value <= e.recoverWithin ? '✓' : '✗'}`}</td></tr>`,
    )
    .join('\n')}</table>
  <h3>Steady-state probes <small>(latency, failures in red; faults shaded; detect and recover marked)</small></h3>
  <div class="chart" id="${data.id}-probes"></div>
  <h3>Error ratio and burn rate <small>(burn against the page factors 14.4× and 6×)</small></h3>
  <div class="chart" id="${data.id}-burn"></div>
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

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2733}h1{margin:0 0 4px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
.verdict{font-size:13px;padding:2px 8px;border-radius:4px;color:#fff;vertical-align:middle}.pass{background:#1a7f37}.fail{background:#cf222e}.aborted{background:#bf8700}.error{background:#6e7781}
.meta{color:#57606a}.chart{margin:4px 0 12px}.checks li.bad{color:#cf222e}.bars{display:flex;width:100%;max-width:900px;height:26px;font-size:12px;color:#fff}
.bar{overflow:hidden;white-space:nowrap;padding:4px}.detect{background:#8250df}.restore{background:#0969da}.replay{background:#1a7f37}.warmUp{background:#bf8700}section.run{border-top:2px solid #d0d7de;padding-top:8px}`;

/** The page's own script: draws every run's charts with uPlot from the embedded data. */
const DRAW = `
const runs = JSON.parse(document.getElementById('report-data').textContent);
const width = Math.min(1100, document.body.clientWidth - 20);
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
      ctx.strokeStyle = m.kind === 'detect' ? '#8250df' : '#1a7f37';
      ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
    }
    ctx.restore();
  };
}
const palette = ['#0969da', '#bf8700', '#8250df', '#1a7f37'];
for (const r of runs) {
  const xs = [...new Set(r.probes.flatMap((p) => p.t))].sort((a, b) => a - b);
  const series = [{ label: 's' }];
  const data = [xs];
  r.probes.forEach((p, i) => {
    const at = new Map(p.t.map((t, j) => [t, j]));
    data.push(xs.map((t) => (at.has(t) ? p.latency[at.get(t)] : null)));
    data.push(xs.map((t) => (at.has(t) ? p.failed[at.get(t)] : null)));
    series.push({ label: p.name + ' ms', stroke: palette[i % palette.length], spanGaps: true });
    series.push({ label: p.name + ' failed', stroke: '#cf222e', width: 0, points: { show: true, size: 7, fill: '#cf222e' } });
  });
  new uPlot({ width, height: 240, scales: { x: { time: false } }, series, axes: [{ label: 'seconds since start' }, { label: 'ms' }], hooks: { drawClear: [shade(r)] } }, data, document.getElementById(r.id + '-probes'));
  const bx = r.errors.t;
  const bdata = [bx, r.errors.ratio, r.errors.burn, ...r.factors.map((f) => bx.map(() => f))];
  const bseries = [{ label: 's' }, { label: 'error ratio', stroke: '#cf222e', scale: 'ratio' }, { label: 'burn ×', stroke: '#0969da', scale: 'burn' }, ...r.factors.map((f) => ({ label: f + '× factor', stroke: '#57606a', dash: [6, 4], scale: 'burn' }))];
  new uPlot({ width, height: 200, scales: { x: { time: false }, ratio: { range: [0, 1] }, burn: {} }, series: bseries, axes: [{ label: 'seconds since start' }, { scale: 'ratio', label: 'error ratio' }, { scale: 'burn', side: 1, label: 'burn ×' }], hooks: { drawClear: [shade(r)] } }, bdata, document.getElementById(r.id + '-burn'));
}
`;

/** Pure: the whole page. Newest run first. */
export function renderReport(records: RunRecord[], assets: ReportAssets, title: string): string {
  const sorted = [...records].sort((a, b) => b.startedAt - a.startedAt);
  const data = sorted.map((r, i) => chartData(r, i));
  // Embedded JSON: '<' escaped so no data can close the script element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${assets.uplotCss}</style><style>${STYLE}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">${sorted.length} run(s) · generated ${esc(new Date().toISOString())} by drillbook · figures are re-derivable from the run records with <code>drill verify</code></p>
<table><tr><th>run</th><th>drill</th><th>verdict</th><th>MTTR</th></tr>${sorted.map((r) => `<tr><td>${esc(r.runId)}</td><td>${esc(r.drill)}</td><td><span class="verdict ${esc(r.verdict)}">${esc(r.verdict)}</span></td><td>${ms(r.measures.mttr?.value)}</td></tr>`).join('')}</table>
${sorted.map((r, i) => runSection(r, data[i]!)).join('\n')}
<script>${assets.uplotJs}</script>
<script type="application/json" id="report-data">${json}</script>
<script>${DRAW}</script>
</body></html>`;
}

/** Reads every run record of a pack and writes its report.html. */
export function writeReport(packDir: string, title = `Drillbook evidence — ${packDir.split('/').pop()}`): string {
  const records = listPackFiles(packDir)
    .filter((p) => p.startsWith('chaos-dr/') && p.endsWith('.json'))
    .map((p) => JSON.parse(readFileSync(join(packDir, p), 'utf8')) as RunRecord);
  const path = join(packDir, 'report.html');
  writeFileAtomic(path, renderReport(records, loadReportAssets(), title));
  return path;
}
