// Trace coverage: the share of sampled requests on critical paths whose backend trace is
// complete — one root answering the request (its parent is the client span the request
// carried), every expected span present, every expected service present, no orphan
// spans. Errors in a complete trace are flagged, not counted against it. Pure.
import type { StoredSpan } from '../observe/trace-store.ts';
import type { Measure } from './types.ts';

export interface CoverageRequest {
  /** The critical path: `<journey>/<step>`. */
  path: string;
  traceId: string;
  clientSpanId: string;
  expectedSpans: string[];
  services: string[];
}

export interface CoverageReport {
  value: number;
  total: number;
  complete: number;
  perPath: Record<string, { total: number; complete: number; missingSpans: Record<string, number> }>;
  incomplete: Array<{ path: string; traceId: string; reasons: string[] }>;
  errors: Array<{ path: string; traceId: string; span: string }>;
  measure: Measure;
}

export function traceCoverage(requests: readonly CoverageRequest[], trace: (traceId: string) => readonly StoredSpan[]): CoverageReport {
  const perPath: CoverageReport['perPath'] = {};
  const incomplete: CoverageReport['incomplete'] = [];
  const errors: CoverageReport['errors'] = [];
  const clientIdsByTrace = new Map<string, Set<string>>();
  for (const r of requests) (clientIdsByTrace.get(r.traceId) ?? clientIdsByTrace.set(r.traceId, new Set()).get(r.traceId)!).add(r.clientSpanId);
  let complete = 0;
  for (const r of requests) {
    const p = (perPath[r.path] ??= { total: 0, complete: 0, missingSpans: {} });
    p.total++;
    const spans = trace(r.traceId);
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => s.parentSpanId === r.clientSpanId);
    const subtree: StoredSpan[] = [];
    const frontier = [...roots];
    while (frontier.length) {
      const s = frontier.pop()!;
      subtree.push(s);
      for (const c of spans) if (c.parentSpanId === s.spanId) frontier.push(c);
    }
    const reasons: string[] = [];
    if (roots.length === 0) reasons.push('no span answered the request (no root)');
    if (roots.length > 1) reasons.push(`${roots.length} roots`);
    const names = new Set(subtree.map((s) => s.name));
    for (const want of r.expectedSpans)
      if (!names.has(want)) {
        reasons.push(`missing span '${want}'`);
        p.missingSpans[want] = (p.missingSpans[want] ?? 0) + 1;
      }
    const services = new Set(subtree.map((s) => s.service));
    for (const svc of r.services) if (!services.has(svc)) reasons.push(`no span from service '${svc}'`);
    const clients = clientIdsByTrace.get(r.traceId)!;
    const orphans = spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId) && !clients.has(s.parentSpanId));
    if (orphans.length) reasons.push(`${orphans.length} orphan span(s): ${orphans.map((o) => o.name).join(', ')}`);
    for (const s of subtree) if (s.statusCode === 2) errors.push({ path: r.path, traceId: r.traceId, span: s.name });
    if (reasons.length) incomplete.push({ path: r.path, traceId: r.traceId, reasons });
    else {
      complete++;
      p.complete++;
    }
  }
  const value = requests.length ? complete / requests.length : 0;
  return {
    value,
    total: requests.length,
    complete,
    perPath,
    incomplete,
    errors,
    measure: { value: requests.length ? value : null, unit: 'ratio', formula: 'trace-coverage.v1', inputs: { requests: requests.length, complete, perPath } },
  };
}
