// `promtool test rules` suites generated from the definitions. Pure.
//
// SLO alerts: every generated burn-rate rule gets two cases. A clean history as long
// as the longest window among rules of the same alertname, then errors at a constant burn b from t0:
//  - "above": b = 1.1 × factor. The long-window ratio grows as b·budget·(t − t0)/long,
//    so the rule must fire at t0 + long·factor/b (+ for); we check it is quiet at 80 %
//    of that and firing at t0 + long.
//  - "below": b = 0.9 × factor; it must be quiet at t0 + long (and the ratio plateaus
//    below the threshold, so it never fires).
// Other rules with the same alertname are predicted by the same arithmetic and listed
// too; an evaluation time too close to any prediction is a generator bug and throws.
//
// The SLO's own SLI queries are swapped for two synthetic counters
// (`drillbook_test_errors_total`, `drillbook_test_requests_total`) in a copy of the
// rule groups: the meta and alert groups are byte-identical to the real file; what
// is under test is the burn-rate arithmetic and the windows. The real SLI queries are
// checked against the running stage instead (it has the real metrics).
//
// Operational alerts: their `examples` become cases run against the real rule file.
import { stringify } from 'yaml';
import type { AlertDefinition, SloDefinition, SliSpec } from '../define/slo.ts';
import { WINDOW_PLACEHOLDER } from '../define/slo.ts';
import { errorBudget, sloLabels, slothId, windowMs } from '../slo/conventions.ts';
import { burnAlerts, num, promDuration, ruleFileYaml, sloRuleGroups, type BurnAlertInfo, type RuleOptions } from './rules.ts';
import { maxOf, minOf } from '../util/arrays.ts';

export const TEST_SLI: SliSpec = {
  kind: 'ratio',
  errors: `sum(rate(drillbook_test_errors_total[${WINDOW_PLACEHOLDER}]))`,
  total: `sum(rate(drillbook_test_requests_total[${WINDOW_PLACEHOLDER}]))`,
};

const MINUTE = 60_000;
/** Requests per input sample (one sample a minute). */
const REQUESTS_PER_MINUTE = 1000;

interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts: Array<{ exp_labels: Record<string, string>; exp_annotations: Record<string, string> }>;
}

interface TestCase {
  name: string;
  interval: string;
  input_series: Array<{ series: string; values: string }>;
  alert_rule_test: AlertCase[];
}

export interface PromtoolTestFile {
  rule_files: string[];
  evaluation_interval: string;
  tests: TestCase[];
}

/** A generated file, by path relative to the alerts output directory. */
export interface GeneratedFile {
  path: string;
  text: string;
}

/** When a rule fires for a burn `b` starting at t0 (ms after t0), or undefined if never. */
export function predictedFireAfter(a: BurnAlertInfo, burn: number): number | undefined {
  if (burn <= a.factor) return undefined;
  return (windowMs(a.condition.long) * a.factor) / burn;
}

function expected(all: BurnAlertInfo[], alertname: string, burn: number, sinceT0: number): BurnAlertInfo[] {
  const same = all.filter((a) => a.alert === alertname);
  for (const a of same) {
    const p = predictedFireAfter(a, burn);
    if (p === undefined) continue;
    const margin = Math.max(EVAL, 0.03 * windowMs(a.condition.long));
    if (Math.abs(sinceT0 - p) < margin) {
      throw new Error(
        `promtool test generator: eval at t0+${promDuration(sinceT0)} is within ${promDuration(margin)} of ${a.alert} (${a.condition.long}) firing at t0+${promDuration(Math.round(p))}`,
      );
    }
  }
  return same.filter((a) => {
    const p = predictedFireAfter(a, burn);
    return p !== undefined && p < sinceT0;
  });
}

/**
 * Rules are evaluated every 5 minutes: a page case still needs a clean history as long
 * as the longest window sharing its alertname (3d), and evaluating that every minute
 * makes promtool ~5x slower for no extra precision (alert states are read at exact
 * evaluation times).
 */
const EVAL = 5 * MINUTE;
const ceilEval = (ms: number) => Math.ceil(ms / EVAL) * EVAL;

function burnCase(slo: SloDefinition, all: BurnAlertInfo[], target: BurnAlertInfo, kind: 'above' | 'below'): TestCase {
  const long = windowMs(target.condition.long);
  const burn = target.factor * (kind === 'above' ? 1.1 : 0.9);
  // Clean traffic for the longest window of any rule sharing the alertname, so each of
  // their windows is full before the burn starts and the arithmetic above holds.
  const t0 = maxOf(all.filter((a) => a.alert === target.alert).map((a) => windowMs(a.condition.long)));
  const checks = kind === 'above' ? [ceilEval(0.8 * predictedFireAfter(target, burn)!), long] : [long];
  const end = t0 + maxOf(checks);
  const t0Min = t0 / MINUTE;
  const burnMin = (end - t0) / MINUTE;
  const errorsPerMinute = burn * errorBudget(slo) * REQUESTS_PER_MINUTE;
  return {
    name: `${target.alert} ${target.condition.short ?? ''}${target.condition.short ? '/' : ''}${target.condition.long} at ${num(burn)}x (${kind} ${num(target.factor)}x)`,
    interval: '1m',
    input_series: [
      { series: 'drillbook_test_requests_total', values: `0+${REQUESTS_PER_MINUTE}x${t0Min + burnMin}` },
      { series: 'drillbook_test_errors_total', values: `0x${t0Min - 1} 0+${num(errorsPerMinute)}x${burnMin}` },
    ],
    alert_rule_test: checks.map((sinceT0) => ({
      eval_time: promDuration(t0 + sinceT0),
      alertname: target.alert,
      // The alert keeps the identity labels of the recordings its expression reads.
      exp_alerts: expected(all, target.alert, burn, sinceT0).map((a) => ({ exp_labels: { ...sloLabels(slo), ...a.labels }, exp_annotations: a.annotations })),
    })),
  };
}

/**
 * Two files per SLO: a rule file with the synthetic SLI (rules/<id>.yaml) and the test
 * suites (<id>-fast|slow.test.yaml: long windows up to 6h, and 1d/3d), two files so
 * promtool can run them side by side.
 */
export function sloPromtoolTests(slo: SloDefinition, opts: RuleOptions): GeneratedFile[] {
  const id = slothId(slo);
  const all = burnAlerts(slo, opts);
  const ruleFile = `rules/${id}.yaml`;
  const files: GeneratedFile[] = [
    {
      path: `tests/${ruleFile}`,
      text: ruleFileYaml(
        { groups: sloRuleGroups(slo, opts, TEST_SLI) },
        '# Generated by `drill build` for promtool tests: the SLO rules with a synthetic SLI.',
      ),
    },
  ];
  const fast = all.filter((a) => windowMs(a.condition.long) <= 6 * 3_600_000);
  const slow = all.filter((a) => windowMs(a.condition.long) > 6 * 3_600_000);
  for (const [suffix, group] of [
    ['fast', fast],
    ['slow', slow],
  ] as const) {
    if (group.length === 0) continue;
    const suite: PromtoolTestFile = {
      rule_files: [ruleFile],
      evaluation_interval: promDuration(EVAL),
      tests: group.flatMap((a) => [burnCase(slo, all, a, 'above'), burnCase(slo, all, a, 'below')]),
    };
    files.push({ path: `tests/${id}-${suffix}.test.yaml`, text: testYaml(suite) });
  }
  return files;
}

/** A suite for the operational alerts of one service, run against the real rule file. */
export function alertPromtoolTests(service: string, alerts: AlertDefinition[], ruleFileRelToTests: string, opts: RuleOptions): GeneratedFile[] {
  const tests: TestCase[] = [];
  for (const a of [...alerts].sort((x, y) => (x.name < y.name ? -1 : 1))) {
    for (const ex of a.examples) {
      const labels = { ...ex.seriesLabels, ...a.labels, severity: a.severity, service: a.service };
      const annotations = { summary: a.summary, description: a.description, runbook_url: opts.runbookUrl(a.runbook) };
      tests.push({
        name: `${a.name}: ${ex.name}`,
        interval: promDuration(ex.interval),
        input_series: Object.entries(ex.series).map(([series, values]) => ({ series, values })),
        alert_rule_test: [
          ...ex.quietAt.map((t) => ({ eval_time: promDuration(t), alertname: a.name, exp_alerts: [] })),
          ...ex.firingAt.map((t) => ({ eval_time: promDuration(t), alertname: a.name, exp_alerts: [{ exp_labels: labels, exp_annotations: annotations }] })),
        ],
      });
    }
  }
  if (tests.length === 0) return [];
  const interval = minOf(alerts.flatMap((a) => a.examples.map((e) => e.interval)));
  const suite: PromtoolTestFile = { rule_files: [ruleFileRelToTests], evaluation_interval: promDuration(interval), tests };
  return [{ path: `tests/${service}-operational.test.yaml`, text: testYaml(suite) }];
}

function testYaml(suite: PromtoolTestFile): string {
  return `# Generated by \`drill build\`; run with: promtool test rules <this file>\n${stringify(suite, { lineWidth: 0, indent: 2, sortMapEntries: false })}`;
}
