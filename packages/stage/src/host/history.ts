// Synthetic healthy history for the stage's Prometheus. A fresh Prometheus has no past, so a
// burn-rate alert over 1h sees only the seconds since start-up and fires at once; with an hour
// of steady traffic behind it, a full outage needs 1.44 % of that hour (≈ 52 s) to trip the
// 14.4× page, as in production. The history is the service's own request series (taken from
// its metrics module, so names, labels and buckets are what it exposes), labelled as the live
// scrape labels them, written as TSDB blocks with promtool BEFORE Prometheus starts (it loads
// blocks only at start-up, and a block overlapping its head would be out of order).
//
// Continuity: the history ends just before Prometheus starts and the live counters start at 0
// in a fresh replica, so rate() sees one counter reset at the junction and counts the live
// value from zero: the rate over a window spanning both is the history's plus the live one.
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { createMetrics } from '../service/metrics.ts';
import { matchRoute } from '../service/routes.ts';

/** What history to write (StageOptions.history). */
export interface HistoryOptions {
  /** How far back the history reaches, in ms; 0 writes none. */
  lengthMs: number;
  /** Requests per second of the drill's load, spread evenly over the replicas (the balancer's round robin). */
  ratePerSecond: number;
  /** The load's request: its route template and status code label the series. */
  request: { method: string; path: string; status: number };
  /** Share of requests answered 500 (default 0: the healthy stage service answers no 5xx). */
  errorRatio?: number;
  /** What every synthetic request took, in seconds (default 0.01: well inside the latency SLO's 500 ms). */
  latencySeconds?: number;
}

/** What was written, for the run record. */
export interface HistoryFacts {
  lengthMs: number;
  ratePerSecond: number;
  errorRatio: number;
  latencySeconds: number;
  route: string;
  method: string;
  code: string;
  /** First and last sample (ms since the epoch). */
  fromMs: number;
  toMs: number;
  /** Sample spacing: `fineMs` over the last `fineSpanMs`, `coarseMs` before. */
  resolution: { fineMs: number; fineSpanMs: number; coarseMs: number };
  series: number;
  samples: number;
  /** Time to write the blocks (generation and promtool). */
  writeMs: number;
}

/** A scrape target of the service's job, as prometheusConfig() declares it. */
export interface ScrapeTarget {
  job: string;
  instance: string;
  /** The static_config's labels. */
  labels: Record<string, string>;
  /** The replica behind the target (its metrics' `replica` default label). */
  replica: string;
}

export const DEFAULT_LATENCY_SECONDS = 0.01;
/** Older than this, one sample every COARSE_MS: every rule window that reaches back this far is ≥ 30m. */
export const FINE_SPAN_MS = 10 * 60_000;
export const COARSE_MS = 15_000;

type Labels = Record<string, string>;
export interface Series {
  name: string;
  labels: Labels;
  /** Value after one request (a counter's 1, a bucket's 0 or 1, a sum's seconds). */
  perRequest: number;
}

/** Parses `name{a="b",…} value` lines of the Prometheus text format (comments skipped). */
export function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
    const labels: Labels = {};
    if (brace >= 0 && brace < space) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      const body = line.slice(brace + 1, line.lastIndexOf('}'));
      for (let m = re.exec(body); m; m = re.exec(body)) labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    }
    out.push({ name, labels, perRequest: Number(line.slice(space + 1)) });
  }
  return out;
}

const key = (s: Pick<Series, 'name' | 'labels'>) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;

/**
 * The series one request creates in the service's metrics, with what one request adds to each:
 * the difference between a fresh registry's exposition and the same after one observation.
 */
export async function seriesOfOneRequest(replica: string, route: string, method: string, code: number, seconds: number): Promise<Series[]> {
  const m = createMetrics(replica);
  const before = new Set(parseExposition(await m.registry.metrics()).map(key));
  m.observe(route, method, code, seconds);
  const after = parseExposition(await m.registry.metrics());
  m.registry.clear();
  return after.filter((s) => !before.has(key(s)));
}

/**
 * The labels the scrape gives an exposed series: the target's job, instance and static labels
 * win, and an exposed label they clash with is kept as `exported_<name>` (honor_labels: false).
 */
export function scrapedLabels(exposed: Labels, target: ScrapeTarget): Labels {
  const targetLabels: Labels = { ...target.labels, job: target.job, instance: target.instance };
  const out: Labels = {};
  for (const [k, v] of Object.entries(exposed)) out[k in targetLabels ? `exported_${k}` : k] = v;
  return { ...out, ...targetLabels };
}

/** Sample times (ms) from `fromMs` to `toMs`: coarse, then every `fineMs` over the last FINE_SPAN_MS. */
export function sampleTimes(fromMs: number, toMs: number, fineMs: number): number[] {
  const times: number[] = [];
  const fineFrom = toMs - FINE_SPAN_MS;
  for (let t = toMs; t >= fromMs; t -= t > fineFrom ? fineMs : COARSE_MS) times.push(t);
  return times.reverse();
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const seriesText = (name: string, labels: Labels) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escape(labels[k]!)}"`)
    .join(',')}}`;

export interface HistoryPlan {
  /** OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`. */
  text: string;
  facts: Omit<HistoryFacts, 'writeMs'>;
}

/**
 * The history as OpenMetrics text. Each counter grows linearly from 0 at the first sample: the
 * request count per replica at time t is rate / replicas × (t − from), split by the error ratio.
 */
export async function planHistory(o: HistoryOptions, targets: ScrapeTarget[], toMs: number, scrapeIntervalMs: number): Promise<HistoryPlan> {
  const match = matchRoute(o.request.method.toUpperCase(), o.request.path);
  if (!match) {
    const fix = "give the load's request (e.g. POST /ingest)";
    throw new Error(`history.request ${o.request.method} ${o.request.path} is no route of the stage service; ${fix}`);
  }
  if (!(o.ratePerSecond > 0)) throw new Error(`history.ratePerSecond must be above 0 (got ${o.ratePerSecond}); give the load's requests per second`);
  const errorRatio = o.errorRatio ?? 0;
  if (!(errorRatio >= 0 && errorRatio <= 1)) throw new Error(`history.errorRatio must be between 0 and 1 (got ${errorRatio})`);
  const latency = o.latencySeconds ?? DEFAULT_LATENCY_SECONDS;
  const route = match.route.template;
  const method = match.route.method;
  const fromMs = toMs - o.lengthMs;
  const times = sampleTimes(fromMs, toMs, scrapeIntervalMs);
  const perReplica = o.ratePerSecond / targets.length;
  // One metric name at a time (OpenMetrics wants a family's lines together), each series in time order.
  const families = new Map<string, string[]>();
  let series = 0;
  for (const target of targets) {
    const parts: Array<{ code: number; share: number }> = [{ code: o.request.status, share: 1 - errorRatio }];
    if (errorRatio > 0) parts.push({ code: 500, share: errorRatio });
    for (const part of parts) {
      for (const s of await seriesOfOneRequest(target.replica, route, method, part.code, latency)) {
        const family = s.name;
        const id = seriesText(s.name, scrapedLabels(s.labels, target));
        const lines = families.get(family) ?? [];
        const perMs = (perReplica * part.share * s.perRequest) / 1000;
        for (const t of times) lines.push(`${id} ${(perMs * (t - fromMs)).toFixed(6)} ${(t / 1000).toFixed(3)}`);
        families.set(family, lines);
        series++;
      }
    }
  }
  const text = [...families.values()].map((l) => l.join('\n')).join('\n') + '\n# EOF\n';
  return {
    text,
    facts: {
      lengthMs: o.lengthMs,
      ratePerSecond: o.ratePerSecond,
      errorRatio,
      latencySeconds: latency,
      route,
      method,
      code: String(o.request.status),
      fromMs: times[0] ?? toMs,
      toMs,
      resolution: { fineMs: scrapeIntervalMs, fineSpanMs: FINE_SPAN_MS, coarseMs: COARSE_MS },
      series,
      samples: series * times.length,
    },
  };
}

/**
 * Writes the history as TSDB blocks into Prometheus's (not yet started) data dir. promtool cuts
 * blocks at 2 h boundaries (its default --max-block-duration), the layout Prometheus itself uses.
 */
export async function writeHistory(
  promtool: string,
  dataDir: string,
  o: HistoryOptions,
  targets: ScrapeTarget[],
  scrapeIntervalMs: number,
): Promise<HistoryFacts> {
  const started = Date.now();
  // Ends a scrape interval before now: the live series' first sample comes after it.
  const plan = await planHistory(o, targets, started - scrapeIntervalMs, scrapeIntervalMs);
  const file = join(dataDir, '..', 'history.om');
  writeFileSync(file, plan.text, { mode: 0o600 });
  try {
    await promisify(execFile)(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, dataDir], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`promtool could not write the synthetic history: ${(e.stderr || e.message).trim().slice(-2000)}`);
  } finally {
    rmSync(file, { force: true });
  }
  return { ...plan.facts, writeMs: Date.now() - started };
}

/** The service job's targets in a generated Prometheus config (prometheusConfig's output). */
export function serviceTargets(config: object, job: string, replicaOf: (instance: string) => string | undefined): ScrapeTarget[] {
  const c = config as { scrape_configs?: Array<{ job_name: string; static_configs?: Array<{ targets: string[]; labels?: Labels }> }> };
  const scrape = c.scrape_configs?.find((s) => s.job_name === job);
  if (!scrape) throw new Error(`the Prometheus config has no '${job}' scrape job`);
  return (scrape.static_configs ?? []).flatMap((sc) =>
    sc.targets.map((instance) => {
      const replica = replicaOf(instance);
      if (!replica) throw new Error(`scrape target ${instance} of job '${job}' is no replica of the stage`);
      return { job, instance, labels: sc.labels ?? {}, replica };
    }),
  );
}
