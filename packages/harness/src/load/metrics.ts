// Metric collection with k6's names and types: trends (HDR histograms, values in ms with
// µs resolution), counters, rates and gauges, each with submetrics by tag filter.
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { Aggregation } from './thresholds.ts';

export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';
export type Tags = Record<string, string>;

/** One series' samples since it was last drained, as it crosses a thread boundary (structured clone). */
export interface SeriesWire {
  count: number;
  sum: number;
  min: number;
  max: number;
  passes: number;
  last: number;
  /** A trend's HDR histogram, compressed (lossless): merging adds its counts exactly. */
  hist?: string;
}

/** Every metric's and submetric's samples since the last drain, by metric name then series key. */
export type StoreDelta = Record<string, Record<string, SeriesWire>>;

class Series {
  hist: Histogram | undefined;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  passes = 0;
  last = 0;

  constructor(readonly type: MetricType) {
    if (type === 'trend') this.hist = build({ numberOfSignificantValueDigits: 3 });
  }

  add(v: number): void {
    this.count++;
    this.sum += v;
    this.last = v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.type === 'trend') this.hist!.recordValue(Math.max(0, Math.round(v * 1000))); // µs
    if (this.type === 'rate' && v !== 0) this.passes++;
  }

  /** The samples since the last drain, and the series emptied (recorders keep pointing at it). */
  drain(): SeriesWire | undefined {
    if (this.count === 0) return undefined;
    const w: SeriesWire = { count: this.count, sum: this.sum, min: this.min, max: this.max, passes: this.passes, last: this.last };
    if (this.hist) {
      w.hist = encodeIntoCompressedBase64(this.hist);
      this.hist.reset();
    }
    this.count = this.sum = this.passes = this.last = 0;
    this.min = Infinity;
    this.max = -Infinity;
    return w;
  }

  /** Adds another thread's samples: counts and sums add, min/max combine, histograms add bucket by bucket. */
  merge(w: SeriesWire): void {
    this.count += w.count;
    this.sum += w.sum;
    this.passes += w.passes;
    this.last = w.last; // gauges are set by one thread only (the parent's ticker); a later delta is the later value
    if (w.min < this.min) this.min = w.min;
    if (w.max > this.max) this.max = w.max;
    if (this.hist && w.hist) this.hist.add(decodeFromCompressedBase64(w.hist));
  }

  percentile(p: number): number {
    return this.hist!.getValueAtPercentile(p) / 1000;
  }

  /** k6's summary values for this type. */
  values(durationMs: number): Record<string, number> {
    switch (this.type) {
      case 'trend':
        return this.count === 0
          ? {}
          : {
              avg: this.sum / this.count,
              min: this.min,
              med: this.percentile(50),
              max: this.max,
              'p(90)': this.percentile(90),
              'p(95)': this.percentile(95),
              'p(99)': this.percentile(99),
            };
      case 'counter':
        return { count: this.sum, rate: durationMs > 0 ? this.sum / (durationMs / 1000) : 0 };
      case 'rate':
        return { rate: this.count ? this.passes / this.count : 0, passes: this.passes, fails: this.count - this.passes };
      case 'gauge':
        return this.count === 0 ? {} : { value: this.last, min: this.min, max: this.max };
    }
  }

  aggregate(a: Aggregation, durationMs: number): number | undefined {
    if (this.count === 0) return undefined;
    if (a.kind === 'p') return this.type === 'trend' ? this.percentile(a.percentile) : undefined;
    if (a.kind === 'med') return this.type === 'trend' ? this.percentile(50) : undefined;
    return this.values(durationMs)[a.kind];
  }
}

export class MetricStore {
  private readonly metrics = new Map<
    string,
    { type: MetricType; contains: 'time' | 'default' | 'data'; main: Series; subs: Array<{ key: string; tags: Tags; series: Series }> }
  >();

  define(name: string, type: MetricType, contains: 'time' | 'default' | 'data' = 'default'): void {
    if (!this.metrics.has(name)) this.metrics.set(name, { type, contains, main: new Series(type), subs: [] });
  }

  /** A submetric (`http_req_duration{status:200}`) that collects samples whose tags match. */
  submetric(name: string, key: string, tags: Tags): void {
    const m = this.metrics.get(name);
    if (!m) throw new Error(`threshold on unknown metric '${name}'`);
    if (!m.subs.some((s) => s.key === key)) m.subs.push({ key, tags, series: new Series(m.type) });
  }

  add(name: string, value: number, tags: Tags = {}): void {
    this.recorder(name, tags)(value);
  }

  /**
   * A function that adds samples with these tags to the metric and to every submetric they
   * match, with the matching done once: the load runner's hot path records ten samples per
   * request, always with one of a few tag sets. Define submetrics before taking recorders.
   */
  recorder(name: string, tags: Tags = {}): (value: number) => void {
    const m = this.metrics.get(name);
    if (!m) throw new Error(`unknown metric '${name}'`);
    const targets = [m.main, ...m.subs.filter((s) => Object.entries(s.tags).every(([k, v]) => tags[k] === v)).map((s) => s.series)];
    if (targets.length === 1) {
      const only = m.main;
      return (v) => only.add(v);
    }
    return (v) => {
      for (const t of targets) t.add(v);
    };
  }

  /**
   * Every series' samples since the last drain, the series emptied: a worker thread sends
   * this each second and at its end, and the parent merges it into a store built from the
   * same profile (same metrics, same submetrics), which then holds exactly what one store
   * recording every sample would.
   */
  drain(): StoreDelta {
    const out: StoreDelta = {};
    for (const [name, m] of this.metrics) {
      const series: Record<string, SeriesWire> = {};
      const main = m.main.drain();
      if (main) series[name] = main;
      for (const s of m.subs) {
        const w = s.series.drain();
        if (w) series[s.key] = w;
      }
      if (Object.keys(series).length) out[name] = series;
    }
    return out;
  }

  /** Merges a drained delta (see drain); a metric or submetric this store lacks is an error, not silently lost. */
  merge(delta: StoreDelta): void {
    for (const [name, series] of Object.entries(delta)) {
      const m = this.metrics.get(name);
      if (!m) throw new Error(`merging unknown metric '${name}'`);
      for (const [key, w] of Object.entries(series)) {
        const target = key === name ? m.main : m.subs.find((s) => s.key === key)?.series;
        if (!target) throw new Error(`merging unknown submetric '${key}'`);
        target.merge(w);
      }
    }
  }

  aggregate(name: string, key: string, a: Aggregation, durationMs: number): number | undefined {
    const m = this.metrics.get(name);
    if (!m) return undefined;
    const s = key === name ? m.main : m.subs.find((x) => x.key === key)?.series;
    return s?.aggregate(a, durationMs);
  }

  /** handleSummary's `metrics`: every metric and submetric with type, contains and values. */
  summary(durationMs: number): Record<string, { type: MetricType; contains: string; values: Record<string, number> }> {
    const out: Record<string, { type: MetricType; contains: string; values: Record<string, number> }> = {};
    for (const [name, m] of this.metrics) {
      out[name] = { type: m.type, contains: m.contains, values: m.main.values(durationMs) };
      for (const s of m.subs) out[s.key] = { type: m.type, contains: m.contains, values: s.series.values(durationMs) };
    }
    return out;
  }
}
