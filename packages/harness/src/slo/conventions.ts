// SLO conventions: the one place that says what an SLO is called in Prometheus (recording
// rules, labels, the Sloth id), which windows watch it and at what burn factor for its
// period, and how its burn is keyed in a run record. Rules, promtool suites, dashboards, the
// burn measures, the report and `drill verify` all read these, so a 28-day SLO's page factor
// is 13.44 everywhere or nowhere. Pure, and no run-time imports: measure/ may import it.
//
// Names and labels are Sloth's (so dashboards and tooling written for Sloth read ours). The
// alert windows are the SRE workbook's multi-window multi-burn-rate pairs; their lengths are
// fixed and only the factors follow the period: burning a share of the period's budget within
// the long window is an error ratio of factor × budget, factor = share × period / long window.
import type { AlertSeverity } from '../define/slo.ts';
import type { Millis, StopCondition } from '../define/types.ts';

// ─── identity ────────────────────────────────────────────────────────────────

/** Sloth's label names. */
export const LABEL = {
  id: 'sloth_id',
  service: 'sloth_service',
  slo: 'sloth_slo',
  window: 'sloth_window',
  severity: 'sloth_severity',
  mode: 'sloth_mode',
  spec: 'sloth_spec',
  objective: 'sloth_objective',
} as const;

/** What names an SLO: `defineSlo` gives both, plus `id` = `<service>:<name>` for references. */
export interface SloName {
  readonly service: string;
  readonly name: string;
}

/** The `sloth_id` label value and the stem of generated file and group names: `<service>-<slo>`. */
export function slothId(slo: SloName): string {
  return `${slo.service}-${slo.name}`;
}

/** The identity labels every recording of an SLO carries (keys in sorted order). */
export function sloLabels(slo: SloName): Record<string, string> {
  return { [LABEL.id]: slothId(slo), [LABEL.service]: slo.service, [LABEL.slo]: slo.name };
}

/** The full identity selector, as the generated rules use it. */
export function sloSelector(slo: SloName): string {
  return `{${Object.entries(sloLabels(slo))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;
}

/** The short selector dashboards and the run's Prometheus queries use. */
export function sloIdSelector(slo: SloName): string {
  return `{${LABEL.id}="${slothId(slo)}"}`;
}

/** Vector matching between an SLO's recordings: same SLO, the window label aside. */
export const MATCH_SLO = `on(${LABEL.id}, ${LABEL.slo}, ${LABEL.service}) group_left`;

// ─── recording rules ─────────────────────────────────────────────────────────

/** Sloth's recording-rule names. */
export const RECORD = {
  sliErrorRatio: (window: string) => `slo:sli_error:ratio_rate${window}`,
  objective: 'slo:objective:ratio',
  errorBudget: 'slo:error_budget:ratio',
  periodDays: 'slo:time_period:days',
  currentBurnRate: 'slo:current_burn_rate:ratio',
  periodBurnRate: 'slo:period_burn_rate:ratio',
  periodBudgetRemaining: 'slo:period_error_budget_remaining:ratio',
  info: 'sloth_slo_info',
} as const;

/** The three rule groups Sloth writes per SLO. */
export function ruleGroupName(kind: 'sli-recordings' | 'meta-recordings' | 'alerts', slo: SloName): string {
  return `sloth-slo-${kind}-${slothId(slo)}`;
}

/** The SLI error ratio over one window, as the generated rule records it for this SLO. */
export function sliErrorRatioQuery(slo: SloName, window: SliWindow = '5m'): string {
  return `${RECORD.sliErrorRatio(window)}${sloIdSelector(slo)}`;
}

// ─── windows ─────────────────────────────────────────────────────────────────

/** The windows SLI error ratios are recorded over (Sloth's set). */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WINDOW_MS: Record<SliWindow, number> = {
  '5m': 300_000,
  '30m': 1_800_000,
  '1h': HOUR_MS,
  '2h': 2 * HOUR_MS,
  '6h': 6 * HOUR_MS,
  '1d': DAY_MS,
  '3d': 3 * DAY_MS,
};

export function windowMs(w: SliWindow): number {
  return WINDOW_MS[w];
}

/** The period as a Prometheus range (`30d`, `28d`): the period recording's window. */
export function periodWindow(periodMs: Millis): string {
  return `${Math.round(periodMs / DAY_MS)}d`;
}

// ─── burn ────────────────────────────────────────────────────────────────────

/** One alerting condition over the SLI, before its period gives it a factor. */
export interface BurnCondition {
  alert: 'burn-rate' | 'budget-burn';
  severity: AlertSeverity;
  /** Sloth's vocabulary, kept as a second label for tools that expect it. */
  slothSeverity: 'page' | 'ticket';
  /** Share of the period's budget that, spent within `long`, trips the condition. */
  budgetFraction: number;
  long: SliWindow;
  /** Absent for the single-window budget-consumption alerts. */
  short?: SliWindow;
}

/**
 * SRE workbook table 5-8 (page 2 %/1h, 5 %/6h; ticket 10 %/1d, 10 %/3d) and the seeds' 2 %/1h,
 * 5 %/6h budget alerts. For a 30-day period the factors are 14.4, 6, 3, 1 (and 14.4, 6).
 */
export const BURN_CONDITIONS: readonly BurnCondition[] = [
  { alert: 'burn-rate', severity: 'critical', slothSeverity: 'page', budgetFraction: 0.02, short: '5m', long: '1h' },
  { alert: 'burn-rate', severity: 'critical', slothSeverity: 'page', budgetFraction: 0.05, short: '30m', long: '6h' },
  { alert: 'burn-rate', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.1, short: '2h', long: '1d' },
  { alert: 'burn-rate', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.1, short: '6h', long: '3d' },
  { alert: 'budget-burn', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.02, long: '1h' },
  { alert: 'budget-burn', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.05, long: '6h' },
];

/** Rounded to 12 significant digits so every consumer prints and compares the same number. */
const exact = (n: number) => Number(n.toPrecision(12));

export function burnFactor(c: Pick<BurnCondition, 'budgetFraction' | 'long'>, periodMs: Millis): number {
  return exact((c.budgetFraction * periodMs) / WINDOW_MS[c.long]);
}

/** The error budget as a ratio: 99.9 % → 0.001 (not 0.0010000000000000009). */
export function errorBudget(slo: { readonly objective: number }): number {
  return exact(1 - slo.objective);
}

/** A condition with its window lengths and its period's factor. */
export interface BurnWindow extends BurnCondition {
  /** `5m/1h`, or `1h` for a single-window condition. */
  pair: string;
  shortMs?: number;
  longMs: number;
  factor: number;
}

/** The alertname of a condition's rule: the SLO's own name for burn-rate pairs, `<name>BudgetBurn` for budget alerts. */
export function burnAlertName(slo: { readonly alerting: { readonly name: string } }, c: Pick<BurnCondition, 'alert'>): string {
  return c.alert === 'burn-rate' ? slo.alerting.name : `${slo.alerting.name}BudgetBurn`;
}

/** Every alerting condition of an SLO with this period, its factor derived from the period. */
export function burnWindows(periodMs: Millis): BurnWindow[] {
  return BURN_CONDITIONS.map((c) => ({
    ...c,
    pair: c.short ? `${c.short}/${c.long}` : c.long,
    ...(c.short ? { shortMs: WINDOW_MS[c.short] } : {}),
    longMs: WINDOW_MS[c.long],
    factor: burnFactor(c, periodMs),
  }));
}

export type BurnPair = BurnWindow & { short: SliWindow; shortMs: number };

/** The two-window burn-rate pairs (5m/1h, 30m/6h, 2h/1d, 6h/3d): what burn peaks are measured against. */
export function multiWindowPairs(periodMs: Millis): BurnPair[] {
  return burnWindows(periodMs).filter((w): w is BurnPair => w.alert === 'burn-rate' && w.short !== undefined && w.shortMs !== undefined);
}

/** The page pairs' factors, highest first (14.4 and 6 for 30 days): the lines a burn chart draws. */
export function pageFactors(periodMs: Millis): number[] {
  return multiWindowPairs(periodMs)
    .filter((w) => w.slothSeverity === 'page')
    .map((w) => w.factor);
}

/** The error ratio a factor stands for against this SLO: factor × budget. */
export function burnThreshold(factor: number, slo: { readonly objective: number }): number {
  return exact(factor * errorBudget(slo));
}

// ─── which SLOs a drill declares, and how a run record keys their burn ───────

/** The SLO ids a drill plan names (`checks.slo` and budget-consumed stops), sorted. Burn is reported for these only. */
export function declaredSloIds(plan: { readonly checks?: { slo?: readonly string[] }; readonly stopWhen: readonly StopCondition[] }): string[] {
  const ids = new Set(plan.checks?.slo ?? []);
  for (const s of plan.stopWhen) if (s.kind === 'budget-consumed') ids.add(s.slo);
  return [...ids].sort();
}

/** The burn measures a run record holds per declared SLO. */
export const SLO_MEASURES = ['errorRatio', 'burnRate', 'budgetConsumed', 'promBurnRate', 'promBudgetConsumed'] as const;
export type SloMeasure = (typeof SLO_MEASURES)[number];

const SLO_MEASURE_PREFIX = 'slo.';
const SLO_MEASURE_RE = new RegExp(`^${SLO_MEASURE_PREFIX.replace('.', '\\.')}([^.]+)\\.(${SLO_MEASURES.join('|')})$`);

/** `slo.<sloId>.<measure>`, e.g. `slo.graph-api:availability.burnRate` (SLO ids hold no dots; phase keys have one). */
export function sloMeasureKey(sloId: string, measure: SloMeasure): string {
  return `${SLO_MEASURE_PREFIX}${sloId}.${measure}`;
}

export function parseSloMeasureKey(key: string): { sloId: string; measure: SloMeasure } | undefined {
  const m = SLO_MEASURE_RE.exec(key);
  return m ? { sloId: m[1]!, measure: m[2] as SloMeasure } : undefined;
}
