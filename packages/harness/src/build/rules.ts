// Prometheus rules from SLO and alert definitions. Pure: definitions in, rule
// objects and YAML text out. Names and labels follow Sloth's output so dashboards
// and tooling written for Sloth read ours; the alert windows are the Google SRE
// workbook's multi-window multi-burn-rate pairs, kept at their real lengths (a
// drill does not shorten them: a total outage trips the 5m/1h pair in about a
// minute; the arithmetic is in README.md beside this file and in the promtool tests).
import { stringify } from 'yaml';
import { formatDuration } from '../define/duration.ts';
import { sliErrorRatio, type AlertDefinition, type AlertSeverity, type SloDefinition, type SliSpec } from '../define/slo.ts';

/** The windows SLI error ratios are recorded over (Sloth's set). */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

const HOUR_MS = 3_600_000;
const WINDOW_MS: Record<SliWindow, number> = { '5m': 300_000, '30m': 1_800_000, '1h': HOUR_MS, '2h': 2 * HOUR_MS, '6h': 6 * HOUR_MS, '1d': 24 * HOUR_MS, '3d': 72 * HOUR_MS };

/**
 * One alerting condition over the SLI. The burn factor is derived, not fixed: burning
 * `budgetFraction` of the period's budget within `long` means an error ratio of
 * factor × (1 − objective), factor = budgetFraction × period / long (2 % in 1h of 30d = 14.4).
 */
export interface BurnCondition {
  alert: 'burn-rate' | 'budget-burn';
  severity: AlertSeverity;
  /** Sloth's vocabulary, kept as a second label for tools that expect it. */
  slothSeverity: 'page' | 'ticket';
  budgetFraction: number;
  long: SliWindow;
  /** Absent for the single-window budget-consumption alerts. */
  short?: SliWindow;
}

/** SRE workbook table 5-8 (page 2 %/1h, 5 %/6h; ticket 10 %/1d, 10 %/3d) and the seeds' 2 %/1h, 5 %/6h budget alerts. */
export const BURN_CONDITIONS: readonly BurnCondition[] = [
  { alert: 'burn-rate', severity: 'critical', slothSeverity: 'page', budgetFraction: 0.02, short: '5m', long: '1h' },
  { alert: 'burn-rate', severity: 'critical', slothSeverity: 'page', budgetFraction: 0.05, short: '30m', long: '6h' },
  { alert: 'burn-rate', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.1, short: '2h', long: '1d' },
  { alert: 'burn-rate', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.1, short: '6h', long: '3d' },
  { alert: 'budget-burn', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.02, long: '1h' },
  { alert: 'budget-burn', severity: 'warning', slothSeverity: 'ticket', budgetFraction: 0.05, long: '6h' },
];

export function windowMs(w: SliWindow): number {
  return WINDOW_MS[w];
}

/** Prints a number the shortest exact way (no 0.0010000000000000009). */
export function num(n: number): string {
  return String(Number(n.toPrecision(12)));
}

export function burnFactor(c: Pick<BurnCondition, 'budgetFraction' | 'long'>, periodMs: number): number {
  return Number(((c.budgetFraction * periodMs) / WINDOW_MS[c.long]).toPrecision(12));
}

export function errorBudget(slo: SloDefinition): number {
  return Number((1 - slo.objective).toPrecision(12));
}

// ─── rule shapes ─────────────────────────────────────────────────────────────

export interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: Array<RecordingRule | AlertingRule>;
}

export interface RuleFile {
  groups: RuleGroup[];
}

/** What the promtool test generator needs to know of each generated alert rule. */
export interface BurnAlertInfo {
  sloId: string;
  alert: string;
  condition: BurnCondition;
  factor: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleOptions {
  /** Turns a repository path (`runbooks/x.md`) into the `runbook_url` annotation. */
  runbookUrl: (path: string) => string;
}

export const defaultRuleOptions: RuleOptions = { runbookUrl: (p) => p };

// ─── SLO rules ───────────────────────────────────────────────────────────────

export function slothId(slo: SloDefinition): string {
  return `${slo.service}-${slo.name}`;
}

function sloLabels(slo: SloDefinition): Record<string, string> {
  return { sloth_id: slothId(slo), sloth_service: slo.service, sloth_slo: slo.name };
}

function selector(slo: SloDefinition): string {
  const l = sloLabels(slo);
  return `{sloth_id="${l.sloth_id}", sloth_service="${l.sloth_service}", sloth_slo="${l.sloth_slo}"}`;
}

const periodWindow = (slo: SloDefinition) => `${slo.periodDays}d`;

/** SLI recordings: error ratio per window, and the period ratio as Sloth derives it from the 5m one. */
export function sliRecordings(slo: SloDefinition, sli: SliSpec = slo.sli): RuleGroup {
  const rules: RecordingRule[] = SLI_WINDOWS.map((w) => ({
    record: `slo:sli_error:ratio_rate${w}`,
    expr: sliErrorRatio(sli, w),
    labels: sortKeys({ ...sloLabels(slo), sloth_window: w }),
  }));
  const pw = periodWindow(slo);
  rules.push({
    record: `slo:sli_error:ratio_rate${pw}`,
    expr: `sum_over_time(slo:sli_error:ratio_rate5m${selector(slo)}[${pw}])\n/ ignoring (sloth_window)\ncount_over_time(slo:sli_error:ratio_rate5m${selector(slo)}[${pw}])`,
    labels: sortKeys({ ...sloLabels(slo), sloth_window: pw }),
  });
  return { name: `sloth-slo-sli-recordings-${slothId(slo)}`, rules };
}

export function metaRecordings(slo: SloDefinition): RuleGroup {
  const sel = selector(slo);
  const on = 'on(sloth_id, sloth_slo, sloth_service) group_left';
  const labels = sortKeys(sloLabels(slo));
  return {
    name: `sloth-slo-meta-recordings-${slothId(slo)}`,
    rules: [
      { record: 'slo:objective:ratio', expr: `vector(${num(slo.objective)})`, labels },
      { record: 'slo:error_budget:ratio', expr: `vector(${num(errorBudget(slo))})`, labels },
      { record: 'slo:time_period:days', expr: `vector(${slo.periodDays})`, labels },
      { record: 'slo:current_burn_rate:ratio', expr: `slo:sli_error:ratio_rate5m${sel}\n/ ${on}\nslo:error_budget:ratio${sel}`, labels },
      { record: 'slo:period_burn_rate:ratio', expr: `slo:sli_error:ratio_rate${periodWindow(slo)}${sel}\n/ ${on}\nslo:error_budget:ratio${sel}`, labels },
      { record: 'slo:period_error_budget_remaining:ratio', expr: `1 - slo:period_burn_rate:ratio${sel}`, labels },
      {
        record: 'sloth_slo_info',
        expr: 'vector(1)',
        labels: sortKeys({ ...labels, sloth_mode: 'drillbook', sloth_objective: num(slo.objective * 100), sloth_spec: 'drillbook/v1' }),
      },
    ],
  };
}

function conditionExpr(slo: SloDefinition, c: BurnCondition, factor: number): string {
  const threshold = `(${num(factor)} * ${num(errorBudget(slo))})`;
  const part = (w: SliWindow) => `max(slo:sli_error:ratio_rate${w}${selector(slo)} > ${threshold}) without (sloth_window)`;
  return c.short ? `(\n  ${part(c.short)}\nand\n  ${part(c.long)}\n)` : part(c.long);
}

export function burnAlerts(slo: SloDefinition, opts: RuleOptions = defaultRuleOptions): BurnAlertInfo[] {
  const budgetPct = num(errorBudget(slo) * 100);
  return BURN_CONDITIONS.map((c) => {
    const factor = burnFactor(c, slo.period);
    const alert = c.alert === 'burn-rate' ? slo.alerting.name : `${slo.alerting.name}BudgetBurn`;
    const exhaust = formatDuration(slo.period / factor);
    const windows = c.short ? `${c.short} and ${c.long}` : c.long;
    const what = `${slo.service} ${slo.name}`;
    return {
      sloId: slo.id,
      alert,
      condition: c,
      factor,
      labels: sortKeys({
        ...slo.alerting.labels,
        severity: c.severity,
        sloth_severity: c.slothSeverity,
        service: slo.service,
        slo: slo.name,
        burn_factor: num(factor),
        long_window: c.long,
        ...(c.short ? { short_window: c.short } : {}),
      }),
      annotations: sortKeys({
        ...slo.alerting.annotations,
        summary:
          c.alert === 'burn-rate'
            ? `${what}: error budget burning at over ${num(factor)}x (${windows})`
            : `${what}: over ${num(c.budgetFraction * 100)}% of the ${slo.periodDays}d error budget consumed in ${c.long}`,
        description:
          `The ${slo.name} SLI of ${slo.service} (objective ${num(slo.objective * 100)}%, budget ${budgetPct}% over ${slo.periodDays}d) ` +
          `has an error ratio above ${num(factor)} x ${budgetPct}% = ${num(factor * errorBudget(slo) * 100)}% over ${windows}. ` +
          `At this rate the whole ${slo.periodDays}d budget is gone within ${exhaust}.`,
        runbook_url: opts.runbookUrl(slo.alerting.runbook),
      }),
    };
  });
}

export function alertGroup(slo: SloDefinition, opts: RuleOptions = defaultRuleOptions): RuleGroup {
  return {
    name: `sloth-slo-alerts-${slothId(slo)}`,
    rules: burnAlerts(slo, opts).map((a) => ({
      alert: a.alert,
      expr: conditionExpr(slo, a.condition, a.factor),
      labels: a.labels,
      annotations: a.annotations,
    })),
  };
}

/** The three groups Sloth writes for one SLO. `sli` lets the promtool tests swap in synthetic inputs. */
export function sloRuleGroups(slo: SloDefinition, opts: RuleOptions = defaultRuleOptions, sli?: SliSpec): RuleGroup[] {
  return [sliRecordings(slo, sli), metaRecordings(slo), alertGroup(slo, opts)];
}

// ─── operational alerts ──────────────────────────────────────────────────────

export function operationalAlertRule(a: AlertDefinition, opts: RuleOptions = defaultRuleOptions): AlertingRule {
  return {
    alert: a.name,
    expr: a.expr,
    ...(a.for > 0 ? { for: promDuration(a.for) } : {}),
    labels: sortKeys({ ...a.labels, severity: a.severity, service: a.service }),
    annotations: sortKeys({ summary: a.summary, description: a.description, runbook_url: opts.runbookUrl(a.runbook) }),
  };
}

/** Prometheus duration syntax ('1m30s', '5s', '250ms'). */
export function promDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
  let rest = ms;
  let out = '';
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${u}`;
    rest -= n * size;
  }
  return out || '0s';
}

// ─── files ───────────────────────────────────────────────────────────────────

/** One rule file per service: its SLOs (sorted by name) and its operational alerts (sorted by name). */
export function serviceRuleFile(slos: SloDefinition[], alerts: AlertDefinition[], opts: RuleOptions = defaultRuleOptions): RuleFile {
  const groups = [...slos].sort((a, b) => cmp(a.id, b.id)).flatMap((s) => sloRuleGroups(s, opts));
  if (alerts.length > 0) {
    const service = alerts[0]!.service;
    groups.push({ name: `drillbook-operational-${service}`, rules: [...alerts].sort((a, b) => cmp(a.name, b.name)).map((a) => operationalAlertRule(a, opts)) });
  }
  return { groups };
}

/** Stable YAML: fixed key order in every rule, sorted label maps, no line folding. */
export function ruleFileYaml(file: RuleFile, header = '# Generated by `drill build`. Do not edit: change the definitions under alerts/ instead.'): string {
  return `${header}\n${stringify(file, { lineWidth: 0, blockQuote: 'literal', indent: 2 })}`;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => cmp(a, b)));
}
