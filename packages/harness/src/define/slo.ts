// SLOs and operational alerts as code. One SLO definition drives the recording and
// alert rules (build/rules.ts), the dashboards (build/dashboards.ts) and, later, the
// drill verdicts. `define/` never imports the engine: this file only validates.
import { z } from 'zod';
import { parseAllDocuments } from 'yaml';
import { parseDuration } from './duration.ts';
import { DefinitionError, type DefinitionIssue } from './errors.ts';
import type { Millis, SloRef } from './types.ts';

/** The window placeholder users put in SLI templates; `{{.window}}` (Sloth's spelling) is accepted too. */
export const WINDOW_PLACEHOLDER = '{{window}}';
const WINDOW_RE = /\{\{\s*\.?window\s*\}\}/g;

const DAY_MS = 86_400_000;

// ─── types (validated) ───────────────────────────────────────────────────────
// Hand-written: defineSlo/defineAlert compute them (objective in percent → ratio, period →
// ms and days, durations → ms, the SLI's kind). SloAlerting is the schema's own output.

/** Errors over total, both PromQL with `{{window}}`; an error ratio in 0..1 results. */
export interface RatioSli {
  kind: 'ratio';
  errors: string;
  total: string;
}

/** Requests slower than `threshold` (a histogram `le` bucket) count as errors. */
export interface LatencySli {
  kind: 'latency';
  /** Histogram base name, e.g. `http_request_duration_seconds`. */
  metric: string;
  /** The bucket boundary in seconds; must be one of the histogram's buckets. */
  thresholdSeconds: number;
  /** Label matchers without braces, e.g. `service="graph-api",route="/resolve"`. */
  selector: string;
}

export type SliSpec = RatioSli | LatencySli;

export interface SloDefinition extends SloRef {
  readonly kind: 'slo';
  readonly service: string;
  readonly name: string;
  /** `<service>:<name>`. */
  readonly id: string;
  readonly description: string;
  /** As a ratio: 99.9 → 0.999. */
  readonly objective: number;
  readonly period: Millis;
  readonly periodDays: number;
  readonly sli: SliSpec;
  readonly alerting: SloAlerting;
}

export type AlertSeverity = 'critical' | 'warning';

/** A worked example that becomes a `promtool test rules` case for an operational alert. */
export interface AlertExample {
  name: string;
  /** Sample spacing of the input series. */
  interval: Millis;
  /** promtool input series: series selector → expanding notation (`'1x10 0x30'`). */
  series: Record<string, string>;
  /** Times (from the start of the series) at which the alert must be firing / must not be. */
  firingAt: Millis[];
  quietAt: Millis[];
  /** Labels the firing alert carries from its expression's series (e.g. `replica`). */
  seriesLabels: Record<string, string>;
}

export interface AlertDefinition {
  readonly kind: 'alert';
  readonly name: string;
  readonly service: string;
  readonly expr: string;
  readonly for: Millis;
  readonly severity: AlertSeverity;
  readonly summary: string;
  readonly description: string;
  readonly runbook: string;
  readonly labels: Record<string, string>;
  readonly examples: AlertExample[];
}

// ─── schemas (user input) ────────────────────────────────────────────────────

const duration = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== undefined, {
  message: "expected a duration like '30s', '5m' or a number of milliseconds",
});

const windowed = z
  .string()
  .min(1)
  .refine((q) => q.match(WINDOW_RE) !== null, { message: `expected a PromQL template containing ${WINDOW_PLACEHOLDER}` });

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a Prometheus label name');
const labels = z.record(labelName, z.string()).default({});
const runbookPath = z.string().regex(/^runbooks\/[A-Za-z0-9._-]+\.md$/, "expected a path like 'runbooks/<name>.md'");
const alertName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an alert name like GraphApiAvailability');
const slug = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "expected lowercase letters, digits and '-' like 'graph-api'");

const sloAlerting = z
  .object({
    /** The alertname of the multi-window burn-rate alerts, CamelCase (`GraphApiAvailability`). */
    name: alertName,
    /** Repository-relative path of the runbook, e.g. `runbooks/graph-api-availability.md`. */
    runbook: runbookPath,
    /** Labels the alerts carry (Prometheus label names). @default {} */
    labels,
    /** Annotations the alerts carry. @default {} */
    annotations: z.record(z.string(), z.string()).default({}),
  })
  .strict();
/** How an SLO's burn-rate alerts are named, labelled and documented. */
export type SloAlerting = z.output<typeof sloAlerting>;

const sloInput = z.object({
  /** The service the SLO is about: lowercase letters, digits and '-' (`graph-api`). */
  service: slug,
  /** The SLO's name within the service (`availability`); its id is `<service>:<name>`. */
  name: slug,
  /** What the SLO promises, in words. @default '<name> of <service>' */
  description: z.string().optional(),
  /** The target, in percent, above 0 and below 100 (99.9). */
  objective: z.number().gt(0).lt(100),
  /** The rolling window the objective and the error budget are counted over. @default '30d' */
  period: z.enum(['30d', '28d']).default('30d'),
  /**
   * The indicator: `{ errors, total }` PromQL templates containing `{{window}}`, or
   * `{ latency: { metric, threshold, selector } }` where slower requests count as errors.
   */
  sli: z.union([
    z
      .object({
        /** PromQL for the rate of bad events over `{{window}}`. */
        errors: windowed,
        /** PromQL for the rate of all events over `{{window}}`. */
        total: windowed,
      })
      .strict(),
    z
      .object({
        /** Requests slower than `threshold` count as errors. */
        latency: z
          .object({
            /** The histogram's name (`http_request_duration_seconds`; a `_bucket` suffix is dropped). */
            metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'expected a histogram metric name'),
            /** The bucket boundary: '250ms' or seconds (0.25); must be one of the histogram's buckets. */
            threshold: z.union([z.string(), z.number().positive()]),
            /** Label matchers without braces, e.g. `service="graph-api",route="/resolve"`. @default '' */
            selector: z.string().default(''),
          })
          .strict(),
      })
      .strict(),
  ]),
  /** How the SLO's burn-rate alerts are named, labelled and documented. */
  alerting: sloAlerting,
});

/** An SLO as written: what defineSlo takes. */
export type SloInput = z.input<typeof sloInput>;

const alertInput = z
  .object({
    /** The alertname, CamelCase (`GraphApiReplicaDown`). */
    name: alertName,
    /** The service the alert is about: lowercase letters, digits and '-' (`graph-api`). */
    service: slug,
    /** The PromQL expression that fires the alert. */
    expr: z.string().min(1),
    /** How long `expr` must hold before the alert fires: '1m' or milliseconds. @default '0s' */
    for: duration.default('0s'),
    /** How urgent: 'critical' pages, 'warning' does not. */
    severity: z.enum(['critical', 'warning']),
    /** One line saying what is wrong. */
    summary: z.string().min(1),
    /** What is wrong and what it affects, in a few sentences. */
    description: z.string().min(1),
    /** Repository-relative path of the runbook, e.g. `runbooks/graph-api-replica-down.md`. */
    runbook: runbookPath,
    /** Labels the alert carries (Prometheus label names). @default {} */
    labels,
    /** Worked examples, each a `promtool test rules` case. @default [] */
    examples: z
      .array(
        z
          .object({
            /** The example's name. */
            name: z.string().min(1),
            /** Sample spacing of the input series: '1s' or milliseconds. @default '1s' */
            interval: duration.default('1s'),
            /** promtool input series: series selector → expanding notation (`'1x10 0x30'`). */
            series: z.record(z.string(), z.string()),
            /** Times from the start of the series at which the alert must be firing: '20s' or milliseconds. @default [] */
            firingAt: z.array(duration).default([]),
            /** Times from the start of the series at which the alert must not be firing. @default [] */
            quietAt: z.array(duration).default([]),
            /** Labels the firing alert carries from its expression's series (e.g. `replica`). @default {} */
            seriesLabels: z.record(labelName, z.string()).default({}),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** An operational alert as written: what defineAlert takes. */
export type AlertInput = z.input<typeof alertInput>;

// ─── define ──────────────────────────────────────────────────────────────────

function issuesOf(error: z.ZodError, fixFor: (path: string) => string): DefinitionIssue[] {
  return error.issues.map((i) => {
    const path = i.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    return { path, problem: i.message, fix: fixFor(path) };
  });
}

const SLO_FIX: Record<string, string> = {
  objective: 'give the target in percent, e.g. 99.9',
  period: "use '30d' (default) or '28d'",
  sli: `give { errors, total } PromQL templates with ${WINDOW_PLACEHOLDER}, or { latency: { metric, threshold, selector } }`,
  'alerting.runbook': 'point at a markdown file under runbooks/, e.g. runbooks/graph-api-availability.md',
  'alerting.name': 'use a CamelCase alert name such as GraphApiAvailability',
};

function fixForSlo(path: string): string {
  const key = Object.keys(SLO_FIX).find((k) => path === k || path.startsWith(`${k}.`));
  return key ? SLO_FIX[key]! : 'see defineSlo in docs/definitions.md';
}

/** Seconds from '250ms' / 0.25 (numbers are seconds, as histogram buckets are). */
function thresholdSeconds(v: string | number): number | undefined {
  if (typeof v === 'number') return v;
  const ms = parseDuration(v);
  return ms === undefined || ms <= 0 ? undefined : ms / 1000;
}

/** Validates an SLO and returns its normalised definition, or throws DefinitionError. */
export function defineSlo(input: SloInput, file?: string): SloDefinition {
  const parsed = sloInput.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesOf(parsed.error, fixForSlo));
  const v = parsed.data;
  let sli: SliSpec;
  if ('latency' in v.sli) {
    const t = thresholdSeconds(v.sli.latency.threshold);
    if (t === undefined) {
      throw new DefinitionError(file, [
        {
          path: 'sli.latency.threshold',
          problem: `expected a duration, got ${JSON.stringify(v.sli.latency.threshold)}`,
          fix: "write it like '250ms' or 0.25 (seconds), matching a histogram bucket",
        },
      ]);
    }
    sli = {
      kind: 'latency',
      metric: v.sli.latency.metric.replace(/_(bucket|count|sum)$/, ''),
      thresholdSeconds: t,
      selector: v.sli.latency.selector.trim().replace(/^\{|\}$/g, ''),
    };
  } else {
    sli = { kind: 'ratio', errors: normaliseWindow(v.sli.errors), total: normaliseWindow(v.sli.total) };
  }
  const periodDays = Number(v.period.replace('d', ''));
  return Object.freeze({
    kind: 'slo',
    service: v.service,
    name: v.name,
    id: `${v.service}:${v.name}`,
    description: v.description ?? `${v.name} of ${v.service}`,
    objective: Number((v.objective / 100).toFixed(10)),
    period: periodDays * DAY_MS,
    periodDays,
    sli,
    alerting: v.alerting,
  });
}

function normaliseWindow(q: string): string {
  return q.replace(WINDOW_RE, WINDOW_PLACEHOLDER);
}

/** Validates an operational alert (replica down, database down) defined next to the SLOs. */
export function defineAlert(input: AlertInput, file?: string): AlertDefinition {
  const parsed = alertInput.safeParse(input);
  if (!parsed.success) {
    throw new DefinitionError(
      file,
      issuesOf(parsed.error, (p) =>
        p.startsWith('examples')
          ? 'examples: [{ name, interval, series: { selector: "1x10 0x30" }, firingAt: ["20s"], quietAt: ["5s"] }]'
          : 'see defineAlert in define/slo.ts',
      ),
    );
  }
  const v = parsed.data;
  return Object.freeze({
    kind: 'alert',
    name: v.name,
    service: v.service,
    expr: v.expr.trim(),
    for: parseDuration(v.for)!,
    severity: v.severity,
    summary: v.summary,
    description: v.description,
    runbook: v.runbook,
    labels: v.labels,
    examples: v.examples.map((e) => ({
      name: e.name,
      interval: parseDuration(e.interval)!,
      series: e.series,
      firingAt: e.firingAt.map((d) => parseDuration(d)!),
      quietAt: e.quietAt.map((d) => parseDuration(d)!),
      seriesLabels: e.seriesLabels,
    })),
  });
}

export function isSloDefinition(v: unknown): v is SloDefinition {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'slo' && typeof (v as { id?: unknown }).id === 'string';
}

export function isAlertDefinition(v: unknown): v is AlertDefinition {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'alert' && typeof (v as { expr?: unknown }).expr === 'string';
}

/** The SLI as an error-ratio PromQL over one window (both SLI kinds). */
export function sliErrorRatio(sli: SliSpec, window: string): string {
  if (sli.kind === 'ratio') {
    return `(${sli.errors.replaceAll(WINDOW_PLACEHOLDER, window)})\n/\n(${sli.total.replaceAll(WINDOW_PLACEHOLDER, window)})`;
  }
  const sel = sli.selector;
  const bucketSel = sel === '' ? `le="${sli.thresholdSeconds}"` : `${sel},le="${sli.thresholdSeconds}"`;
  const total = `sum(rate(${sli.metric}_count{${sel}}[${window}]))`;
  return `(${total} - sum(rate(${sli.metric}_bucket{${bucketSel}}[${window}])))\n/\n${total}`;
}

// ─── OpenSLO v1 ──────────────────────────────────────────────────────────────

const metricSource = z.object({ metricSource: z.object({ type: z.string(), spec: z.object({ query: z.string() }).passthrough() }).passthrough() });
const openSli = z.object({
  metadata: z.object({ name: z.string() }).passthrough(),
  spec: z
    .object({
      ratioMetric: z
        .object({ counter: z.boolean().optional(), good: metricSource.optional(), bad: metricSource.optional(), total: metricSource })
        .passthrough(),
    })
    .passthrough(),
});
const openSlo = z.object({
  apiVersion: z.literal('openslo/v1'),
  kind: z.literal('SLO'),
  metadata: z.object({ name: slug, annotations: z.record(z.string(), z.string()).optional() }).passthrough(),
  spec: z
    .object({
      service: slug,
      description: z.string().optional(),
      indicator: openSli.optional(),
      indicatorRef: z.string().optional(),
      timeWindow: z
        .array(z.object({ duration: z.string(), isRolling: z.boolean().optional() }).passthrough())
        .length(1)
        .optional(),
      budgetingMethod: z.literal('Occurrences').optional(),
      objectives: z.array(z.object({ target: z.number().gt(0).lt(1) }).passthrough()).min(1),
      alertPolicies: z.array(z.unknown()).optional(),
    })
    .passthrough(),
});

export interface OpenSloOptions {
  /** Alertname and runbook per SLO name (OpenSLO alert policies carry no Prometheus alert names). */
  alerting: Record<string, { name: string; runbook: string; labels?: Record<string, string> }>;
  file?: string;
}

/**
 * Reads OpenSLO v1 `SLO` (and `SLI`) documents. Prometheus queries carry a `{{window}}`
 * (or Sloth's `{{.window}}`) placeholder; `good` is turned into errors as total − good.
 */
export function loadOpenSlo(yamlText: string, options: OpenSloOptions): SloDefinition[] {
  const file = options.file;
  const docs = parseAllDocuments(yamlText).map((d, i) => {
    if (d.errors.length > 0) throw new DefinitionError(file, [{ path: `[${i}]`, problem: d.errors[0]!.message, fix: 'fix the YAML syntax' }]);
    return d.toJS() as Record<string, unknown>;
  });
  const slis = new Map<string, z.infer<typeof openSli>>();
  for (const [i, d] of docs.entries()) {
    if (d?.kind !== 'SLI') continue;
    const p = openSli.safeParse(d);
    if (!p.success)
      throw new DefinitionError(
        file,
        issuesOf(p.error, () => 'an SLI needs metadata.name and spec.ratioMetric { good|bad, total }').map((x) => ({ ...x, path: `[${i}].${x.path}` })),
      );
    slis.set(p.data.metadata.name, p.data);
  }
  const out: SloDefinition[] = [];
  for (const [i, d] of docs.entries()) {
    if (d?.kind !== 'SLO') continue;
    const p = openSlo.safeParse(d);
    const at = (path: string) => `[${i}].${path}`;
    if (!p.success)
      throw new DefinitionError(
        file,
        issuesOf(p.error, () => 'see the OpenSLO v1 SLO spec: spec.service, spec.indicator|indicatorRef, spec.timeWindow, spec.objectives[].target').map(
          (x) => ({ ...x, path: at(x.path) }),
        ),
      );
    const s = p.data;
    const sli = s.spec.indicator ?? (s.spec.indicatorRef ? slis.get(s.spec.indicatorRef) : undefined);
    if (!sli)
      throw new DefinitionError(file, [
        {
          path: at('spec.indicatorRef'),
          problem: `no SLI named ${JSON.stringify(s.spec.indicatorRef)}`,
          fix: 'inline spec.indicator or add a kind: SLI document with that metadata.name',
        },
      ]);
    const rm = sli.spec.ratioMetric;
    const total = rm.total.metricSource.spec.query;
    let errors: string;
    if (rm.bad) errors = rm.bad.metricSource.spec.query;
    else if (rm.good) errors = `(${total}) - (${rm.good.metricSource.spec.query})`;
    else
      throw new DefinitionError(file, [
        { path: at('spec.indicator.spec.ratioMetric'), problem: 'neither good nor bad is given', fix: 'give ratioMetric.good or ratioMetric.bad' },
      ]);
    const alerting = options.alerting[s.metadata.name];
    if (!alerting)
      throw new DefinitionError(file, [
        {
          path: at('metadata.name'),
          problem: `no alerting given for SLO ${s.metadata.name}`,
          fix: `pass options.alerting[${JSON.stringify(s.metadata.name)}] = { name, runbook }`,
        },
      ]);
    const period = s.spec.timeWindow?.[0]?.duration ?? '30d';
    if (period !== '30d' && period !== '28d')
      throw new DefinitionError(file, [
        { path: at('spec.timeWindow[0].duration'), problem: `unsupported window ${period}`, fix: "use a rolling '30d' or '28d' window" },
      ]);
    out.push(
      defineSlo(
        {
          service: s.spec.service,
          name: s.metadata.name,
          ...(s.spec.description ? { description: s.spec.description } : {}),
          objective: Number((s.spec.objectives[0]!.target * 100).toFixed(8)),
          period,
          sli: { errors, total },
          alerting: { name: alerting.name, runbook: alerting.runbook, labels: alerting.labels ?? {} },
        },
        file,
      ),
    );
  }
  if (out.length === 0)
    throw new DefinitionError(file, [
      { path: '(root)', problem: 'no openslo/v1 SLO document found', fix: 'add a document with apiVersion: openslo/v1 and kind: SLO' },
    ]);
  return out;
}
