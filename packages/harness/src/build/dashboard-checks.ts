// Checks on a dashboard's JSON before it ships, pure: every panel's queries are unique by refId,
// every datasource reference is a datasource variable, every `$variable` resolves, and every
// metric a PromQL expression selects is one the local stage exposes (a misspelt name parses
// fine and draws an empty panel, so parsing alone cannot catch it). Whether each expression
// parses is promtool's job (promql-parse.ts), on the expressions `dashboardExpressions` lists.
import type { RunbookProblem } from './runbooks.ts';

/** One PromQL expression of a dashboard, where it sits, and the same with Grafana's variables replaced. */
export interface DashboardExpression {
  /** `panel "Title" A`, `annotation "Name"`, `variable $name`. */
  where: string;
  expr: string;
  concrete: string;
}

interface Ref {
  type?: string;
  uid?: string;
}
interface Target {
  refId?: string;
  expr?: string;
  datasource?: Ref | string;
}
interface Panel {
  title?: string;
  type?: string;
  datasource?: Ref | string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name?: string;
  type?: string;
  query?: unknown;
  datasource?: Ref | string;
  current?: { value?: unknown };
}
interface Model {
  uid?: string;
  title?: string;
  panels?: Panel[];
  annotations?: { list?: Array<{ name?: string; expr?: string; datasource?: Ref | string; builtIn?: number }> };
  templating?: { list?: Variable[] };
}

/** Grafana's global variables (https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/#global-variables). */
const GLOBALS = new Set([
  '__rate_interval',
  '__interval',
  '__interval_ms',
  '__range',
  '__range_s',
  '__range_ms',
  '__from',
  '__to',
  '__dashboard',
  '__org',
  '__user',
  '__name',
  '__timeFilter',
]);
/** Values for parsing and querying: the intervals a 1 s-scraped stage answers with data. */
const GLOBAL_VALUES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

const VAR_RE = /\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g;

function varsIn(text: string): string[] {
  return [...text.matchAll(VAR_RE)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function allPanels(ps: Panel[] | undefined): Panel[] {
  const out: Panel[] = [];
  for (const p of ps ?? []) {
    out.push(p);
    for (const c of allPanels(p.panels)) out.push(c);
  }
  return out;
}

/** Replaces Grafana's variables: globals by fixed intervals, a custom variable by `values[name]`, else `.*` (a regex matcher). */
export function substitute(expr: string, values: Record<string, string> = {}): string {
  return expr.replace(VAR_RE, (m, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    return values[name] ?? GLOBAL_VALUES[name] ?? (GLOBALS.has(name) ? m : '.*');
  });
}

/** Every PromQL expression of a dashboard: panel targets (rows' panels too), annotations, query variables. */
export function dashboardExpressions(json: string, values: Record<string, string> = {}): { uid: string; title: string; expressions: DashboardExpression[] } {
  const d = JSON.parse(json) as Model;
  const out: DashboardExpression[] = [];
  const add = (where: string, expr: string) => out.push({ where, expr, concrete: substitute(expr, values) });
  for (const p of allPanels(d.panels)) for (const t of p.targets ?? []) if (t.expr) add(`panel "${p.title ?? ''}" ${t.refId ?? ''}`.trim(), t.expr);
  for (const a of d.annotations?.list ?? []) if (a.expr) add(`annotation "${a.name ?? ''}"`, a.expr);
  for (const v of d.templating?.list ?? [])
    if (v.type === 'query' && typeof v.query === 'string') {
      // label_values(selector, label) / query_result(expr): the PromQL inside is what must parse.
      const m = /^\s*(?:label_values\((.*),\s*[a-zA-Z_]\w*\s*\)|query_result\((.*)\)|metrics\((.*)\))\s*$/.exec(v.query);
      if (m?.[3] === undefined) add(`variable $${v.name ?? ''}`, m ? (m[1] ?? m[2])! : v.query);
    }
  return { uid: d.uid ?? '', title: d.title ?? '', expressions: out };
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'atan2',
  'inf',
  'nan',
  'start',
  'end',
]);
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Aggregation operators, which may take their `by (…)` before the parenthesis: `sum by (le) (…)`. */
const AGGREGATORS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/**
 * The metric names a PromQL expression selects: identifiers outside braces, brackets, strings
 * and label lists that are not called as functions, plus `{__name__="…"}`. A small tokenizer,
 * not a parser: promtool decides whether the expression is valid.
 */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  let i = 0;
  let prevWord = '';
  while (i < expr.length) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = skipString(expr, i);
      i = end;
      prevWord = '';
    } else if (ch === '{') {
      const end = closing(expr, i, '{', '}');
      for (const m of expr.slice(i, end).matchAll(/__name__\s*=\s*"([^"]+)"/g)) names.add(m[1]!);
      i = end;
      prevWord = '';
    } else if (ch === '[') {
      i = closing(expr, i, '[', ']');
      prevWord = '';
    } else if (ch === '(' && LABEL_LISTS.has(prevWord)) {
      i = closing(expr, i, '(', ')');
      prevWord = '';
    } else if (/[0-9.]/.test(ch)) {
      const m = /^(?:0x[0-9a-fA-F]+|[0-9.]+(?:e[+-]?\d+)?(?:[a-zA-Z]+[0-9]*)*)/.exec(expr.slice(i))!;
      i += Math.max(1, m[0].length);
      prevWord = '';
    } else if (/[a-zA-Z_:]/.test(ch)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))![0];
      i += word.length;
      const rest = expr.slice(i);
      const next = /^\s*(.)/.exec(rest)?.[1];
      const aggregating = AGGREGATORS.has(word) && /^\s*(by|without)\s*\(/.test(rest);
      if (!KEYWORDS.has(word.toLowerCase()) && next !== '(' && !aggregating) names.add(word);
      prevWord = word;
    } else {
      if (!/\s/.test(ch)) prevWord = '';
      i++;
    }
  }
  return [...names].sort();
}

function skipString(s: string, start: number): number {
  const q = s[start]!;
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\' && q !== '`') i++;
    else if (s[i] === q) return i + 1;
  }
  return s.length;
}

/** Index just past the bracket matching the one at `start` (strings inside skipped). */
function closing(s: string, start: number, open: string, close: string): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === "'" || c === '`') i = skipString(s, i) - 1;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
  }
  return s.length;
}

/**
 * The structural checks of one dashboard. `file` is what the problem names (the dashboards/*.ts
 * source, or the generated file); `known` is the metric catalogue (metric-catalogue.ts).
 */
export function checkDashboard(file: string, json: string, known: ReadonlySet<string>): RunbookProblem[] {
  const d = JSON.parse(json) as Model;
  const name = `dashboard "${d.title ?? d.uid ?? '?'}"`;
  const problems: RunbookProblem[] = [];
  const add = (where: string, problem: string, fix: string) => problems.push({ file, path: `${name} ${where}`, problem, fix });
  const vars = new Map((d.templating?.list ?? []).filter((v) => v.name).map((v) => [v.name!, v]));

  const checkDatasource = (where: string, ds: Ref | string | undefined) => {
    if (ds === undefined) return;
    const uid = typeof ds === 'string' ? ds : ds.uid;
    if (uid === undefined || uid === '-- Grafana --' || uid === 'grafana' || uid === '-- Mixed --' || uid === '-- Dashboard --') return;
    const ref = /^\$\{(\w+)\}$|^\$(\w+)$/.exec(uid);
    const v = ref ? vars.get((ref[1] ?? ref[2])!) : undefined;
    if (!ref)
      add(
        where,
        `datasource uid ${JSON.stringify(uid)} is fixed, so the dashboard works only in the Grafana it was made in`,
        "point it at a datasource variable: { type: 'prometheus', uid: '${datasource}' }",
      );
    else if (!v || v.type !== 'datasource')
      add(where, `datasource ${uid} names no datasource variable`, `add new DatasourceVariableBuilder('${(ref[1] ?? ref[2])!}').type('prometheus')`);
  };
  const checkVars = (where: string, text: string) => {
    for (const v of varsIn(text))
      if (!GLOBALS.has(v) && !vars.has(v))
        add(
          where,
          `$${v} is not a variable of this dashboard`,
          `define it with .withVariable(…) or correct the name (variables: ${[...vars.keys()].join(', ') || 'none'})`,
        );
  };

  for (const p of allPanels(d.panels)) {
    const where = `panel "${p.title ?? ''}"`;
    checkDatasource(where, p.datasource);
    checkVars(where, p.title ?? '');
    const seen = new Set<string>();
    for (const t of p.targets ?? []) {
      checkDatasource(`${where} ${t.refId ?? ''}`.trim(), t.datasource);
      if (!t.refId) add(where, 'a query has no refId', "give each query a refId ('A', 'B', …)");
      else if (seen.has(t.refId))
        add(`${where} ${t.refId}`, `refId ${t.refId} is used by two queries of the panel`, 'give each query of a panel its own refId');
      else seen.add(t.refId);
    }
  }
  for (const a of d.annotations?.list ?? []) if (!a.builtIn) checkDatasource(`annotation "${a.name ?? ''}"`, a.datasource);
  for (const v of vars.values()) if (v.type === 'query') checkDatasource(`variable $${v.name}`, v.datasource);

  for (const e of dashboardExpressions(json).expressions) {
    checkVars(e.where, e.expr);
    for (const m of metricNames(e.expr))
      if (!known.has(m))
        add(
          e.where,
          `metric ${m} is not one the local stage exposes (expression: ${e.expr})`,
          `correct the name; known: ${nearest(m, known).join(', ') || 'see out/alerts and the service /metrics'}`,
        );
  }
  return problems;
}

/** The catalogue names closest to a misspelt one (edit distance ≤ 3), for the fix line. */
function nearest(name: string, known: ReadonlySet<string>): string[] {
  const scored: Array<[number, string]> = [];
  for (const k of known) {
    const dist = editDistance(name, k);
    if (dist <= 3) scored.push([dist, k]);
  }
  return scored
    .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
    .slice(0, 3)
    .map((s) => s[1]);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}
