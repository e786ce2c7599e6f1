// k6 thresholds: `metric{tag:value}` names and `agg op number` expressions, parsed and
// evaluated against the end-of-run values as k6 does.
export type Aggregation = { kind: 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' | 'value' } | { kind: 'p'; percentile: number };

export interface ParsedThreshold {
  source: string;
  aggregation: Aggregation;
  op: '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';
  value: number;
}

export interface MetricRef {
  metric: string;
  tags: Record<string, string>;
}

/** `http_req_duration{status:200,method:GET}` → metric and tag filter. */
export function parseMetricName(key: string): MetricRef {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new Error(`'${key}' is not a metric name: write e.g. http_req_duration or http_req_duration{status:200}`);
  const tags: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',').filter(Boolean)) {
    const i = part.indexOf(':');
    if (i < 0) throw new Error(`tag '${part}' in '${key}' needs name:value`);
    tags[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return { metric: m[1]!, tags };
}

export function parseThreshold(source: string): ParsedThreshold {
  const m = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(source);
  if (!m) throw new Error(`threshold '${source}' is not k6's grammar: write e.g. 'p(95)<300', 'avg<200', 'rate<0.01', 'count>100'`);
  const aggregation: Aggregation = m[2] !== undefined ? { kind: 'p', percentile: Number(m[2]) } : { kind: m[1] as 'avg' };
  return { source, aggregation, op: m[3] as ParsedThreshold['op'], value: Number(m[4]) };
}

/** The summary key of an aggregation: `p(95)`, `avg`, … */
export function aggregationKey(a: Aggregation): string {
  return a.kind === 'p' ? `p(${a.percentile})` : a.kind;
}

export function compare(actual: number, op: ParsedThreshold['op'], bound: number): boolean {
  switch (op) {
    case '<':
      return actual < bound;
    case '<=':
      return actual <= bound;
    case '>':
      return actual > bound;
    case '>=':
      return actual >= bound;
    case '==':
    case '===':
      return actual === bound;
    case '!=':
      return actual !== bound;
  }
}

/** Evaluates a threshold against a metric's values (`values(agg)` returns undefined when the metric has no data). */
export function evaluateThreshold(t: ParsedThreshold, values: (a: Aggregation) => number | undefined): { ok: boolean; actual: number | undefined } {
  const actual = values(t.aggregation);
  // A threshold whose metric got no sample fails here: it proved nothing (our choice; k6 reports such metrics as empty).
  return { ok: actual !== undefined && compare(actual, t.op, t.value), actual };
}
