// What TTD, TTR, impact and TTM mean, in the words of docs/measures.md, for the report to show
// beside its tables. docs/measures.md is the source: a test checks each text here against it, so
// the page and the doc cannot drift apart. Text in `backticks` is code.

/** One of the times an episode's measures are taken between. */
export interface TimePoint {
  name: 't_inject' | 't_impact' | 't_detect' | 't_recover';
  meaning: string;
}

/** One measure of the episode table: its formula (the measures.md table's cell) and formula id. */
export interface MeasureDefinition {
  /** As the episode table heads its column. */
  column: 'TTD' | 'TTR' | 'impact' | 'TTM';
  /** As measures.md's table names it. */
  name: 'TTD' | 'TTR' | 'Impact' | 'TTM';
  long: string;
  formula: string;
  id: string;
  /** The record key suffix: `<phase>.ttd`. */
  key: 'ttd' | 'ttr' | 'impact' | 'ttm';
}

export const TIME_POINTS: readonly TimePoint[] = [
  { name: 't_inject', meaning: 'when the fault was in (`fault.injected`), or when injection began if it failed.' },
  {
    name: 't_detect',
    meaning: "the first transition to `firing` of an expected alert at or after t_inject, as Prometheus' alert state shows it",
  },
  {
    name: 't_impact',
    meaning:
      'the earlier of: the first failed steady-state probe sent at or after t_inject; the start of the first load second whose SLI breached a declared SLO',
  },
  {
    name: 't_recover',
    meaning:
      "the start of the first run of N consecutive passing results after the impact (N = the drill's `recoveryPasses`, default 3). The run starts when every probe's latest result passes, any probe's failure breaks it, and it is complete when every probe has N passes in it.",
  },
];

export const MEASURE_DEFINITIONS: readonly MeasureDefinition[] = [
  {
    column: 'TTD',
    name: 'TTD',
    long: 'time to detect',
    formula: 't_detect − t_inject; empty when no alert was expected or none fired',
    id: 'ttd.v2',
    key: 'ttd',
  },
  {
    column: 'TTR',
    name: 'TTR',
    long: 'time to recover',
    formula: 't_recover − t_inject; empty when not recovered before the run ended',
    id: 'ttr.v2',
    key: 'ttr',
  },
  { column: 'impact', name: 'Impact', long: 'time to impact', formula: 't_impact − t_inject', id: 'impact.v2', key: 'impact' },
  {
    column: 'TTM',
    name: 'TTM',
    long: 'time to mitigate',
    formula: "start of the first successful mitigation − t_inject (detection plus the automation's reaction)",
    id: 'ttm.v1',
    key: 'ttm',
  },
];

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Escaped, with `code` spans. */
const prose = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

/**
 * The definitions box beside a run's episode table: each measure it shows, the times they are
 * taken between, and — when this run's figures were made by an older formula — which one.
 */
export function definitionsHtml(columns: ReadonlyArray<MeasureDefinition['column']>, formulas: Readonly<Record<string, ReadonlySet<string>>> = {}): string {
  const shown = MEASURE_DEFINITIONS.filter((d) => columns.includes(d.column));
  const measures = shown.map((d) => {
    const used = [...(formulas[d.key] ?? [])].filter((f) => f !== d.id);
    const older = used.length ? ` <em>This run's figures use ${used.map((f) => `<code>${esc(f)}</code>`).join(', ')} (see docs/measures.md).</em>` : '';
    return `<dt>${esc(d.column)} <small>${esc(d.long)}</small></dt><dd>${prose(d.formula)} <code>${esc(d.id)}</code>${older}</dd>`;
  });
  const times = TIME_POINTS.map((t) => `<dt>${esc(t.name)}</dt><dd>${prose(t.meaning)}</dd>`);
  return `<aside class="definitions"><h4>What the figures mean</h4><dl>${measures.join('')}</dl><dl class="times">${times.join('')}</dl></aside>`;
}
