// Prometheus rules from SLO and alert definitions. Pure: definitions in, rule
// objects and YAML text out. Every name, label, window and burn factor comes from
// slo/conventions.ts (Sloth's names; the SRE workbook's multi-window multi-burn-rate
// pairs at their real lengths, factors derived from the SLO period). A drill does not
// shorten the windows: a total outage trips the 5m/1h pair in about a minute; the
// arithmetic is in README.md beside this file and in the promtool tests.
import { stringify } from 'yaml';
import { formatDuration } from '../define/duration.ts';
import { sliErrorRatio, type AlertDefinition, type SloDefinition, type SliSpec } from '../define/slo.ts';
import {
  LABEL,
  MATCH_SLO,
  RECORD,
  SLI_WINDOWS,
  burnAlertName,
  burnWindows,
  errorBudget,
  periodWindow,
  ruleGroupName,
  sloLabels,
  sloSelector,
  type BurnWindow,
  type SliWindow,
} from '../slo/conventions.ts';

/** Prints a number the shortest exact way (no 0.0010000000000000009). */
export function num(n: number): string {
  return String(Number(n.toPrecision(12)));
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
  /** The condition with its period's factor (`condition.factor`, also `factor`). */
  condition: BurnWindow;
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

/** SLI recordings: error ratio per window, and the period ratio as Sloth derives it from the 5m one. */
export function sliRecordings(slo: SloDefinition, sli: SliSpec = slo.sli): RuleGroup {
  const rules: RecordingRule[] = SLI_WINDOWS.map((w) => ({
    record: RECORD.sliErrorRatio(w),
    expr: sliErrorRatio(sli, w),
    labels: sortKeys({ ...sloLabels(slo), [LABEL.window]: w }),
  }));
  const pw = periodWindow(slo.period);
  const ratio5m = `${RECORD.sliErrorRatio('5m')}${sloSelector(slo)}`;
  rules.push({
    record: RECORD.sliErrorRatio(pw),
    expr: `sum_over_time(${ratio5m}[${pw}])\n/ ignoring (${LABEL.window})\ncount_over_time(${ratio5m}[${pw}])`,
    labels: sortKeys({ ...sloLabels(slo), [LABEL.window]: pw }),
  });
  return { name: ruleGroupName('sli-recordings', slo), rules };
}

export function metaRecordings(slo: SloDefinition): RuleGroup {
  const sel = sloSelector(slo);
  const labels = sortKeys(sloLabels(slo));
  const budget = `${RECORD.errorBudget}${sel}`;
  return {
    name: ruleGroupName('meta-recordings', slo),
    rules: [
      { record: RECORD.objective, expr: `vector(${num(slo.objective)})`, labels },
      { record: RECORD.errorBudget, expr: `vector(${num(errorBudget(slo))})`, labels },
      { record: RECORD.periodDays, expr: `vector(${slo.periodDays})`, labels },
      { record: RECORD.currentBurnRate, expr: `${RECORD.sliErrorRatio('5m')}${sel}\n/ ${MATCH_SLO}\n${budget}`, labels },
      { record: RECORD.periodBurnRate, expr: `${RECORD.sliErrorRatio(periodWindow(slo.period))}${sel}\n/ ${MATCH_SLO}\n${budget}`, labels },
      { record: RECORD.periodBudgetRemaining, expr: `1 - ${RECORD.periodBurnRate}${sel}`, labels },
      {
        record: RECORD.info,
        expr: 'vector(1)',
        labels: sortKeys({ ...labels, [LABEL.mode]: 'drillbook', [LABEL.objective]: num(slo.objective * 100), [LABEL.spec]: 'drillbook/v1' }),
      },
    ],
  };
}

function conditionExpr(slo: SloDefinition, c: BurnWindow): string {
  const threshold = `(${num(c.factor)} * ${num(errorBudget(slo))})`;
  const part = (w: SliWindow) => `max(${RECORD.sliErrorRatio(w)}${sloSelector(slo)} > ${threshold}) without (${LABEL.window})`;
  return c.short ? `(\n  ${part(c.short)}\nand\n  ${part(c.long)}\n)` : part(c.long);
}

export function burnAlerts(slo: SloDefinition, opts: RuleOptions = defaultRuleOptions): BurnAlertInfo[] {
  const budgetPct = num(errorBudget(slo) * 100);
  return burnWindows(slo.period).map((c) => {
    const factor = c.factor;
    const alert = burnAlertName(slo, c);
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
        [LABEL.severity]: c.slothSeverity,
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
    name: ruleGroupName('alerts', slo),
    rules: burnAlerts(slo, opts).map((a) => ({
      alert: a.alert,
      expr: conditionExpr(slo, a.condition),
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
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
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
