// The harness's own /metrics: `drillbook_fault_active{drill,phase,fault,run_id}` is 1 while a
// fault is in and 0 after, so Prometheus (and the dashboards built from alerts/, which shade
// fault windows from it) sees when the drill hurt the system, beside the system's own series.
// Beside it: `drillbook_probe_success{drill,probe}` (each probe's latest result) and, once a
// drill's traces have settled, `drillbook_trace_coverage_ratio{drill,span_name}` per operation,
// for the drill and operations dashboards.
import { Gauge, Registry } from 'prom-client';
import type { RunEvent } from '../engine/types.ts';
import { traceCoverage, type CoverageRequest } from '../measure/coverage.ts';
import type { StoredSpan } from './trace-store.ts';

/**
 * Trace coverage per operation (the span that answers the request: a step's first expected span,
 * named as the service names its server spans), by the same definition as the run's coverage —
 * computed over all the requests at once, since a journey's steps share one trace and each step's
 * spans are only accounted for with the others' client spans in view. Pure.
 */
export function coverageByOperation(requests: readonly CoverageRequest[], trace: (traceId: string) => readonly StoredSpan[]): Map<string, number> {
  const operationOf = new Map<string, string>();
  for (const r of requests) operationOf.set(r.path, r.expectedSpans[0] ?? r.path);
  const totals = new Map<string, { total: number; complete: number }>();
  for (const [p, c] of Object.entries(traceCoverage(requests, trace).perPath)) {
    const op = operationOf.get(p)!;
    const t = totals.get(op) ?? totals.set(op, { total: 0, complete: 0 }).get(op)!;
    t.total += c.total;
    t.complete += c.complete;
  }
  const out = new Map<string, number>();
  for (const op of [...totals.keys()].sort()) out.set(op, totals.get(op)!.complete / totals.get(op)!.total);
  return out;
}

export class FaultMetrics {
  readonly registry = new Registry();
  private readonly active = new Gauge({
    name: 'drillbook_fault_active',
    help: 'Whether a drill fault is in (1) or out (0), by drill, phase and fault kind',
    labelNames: ['drill', 'phase', 'fault', 'run_id'] as const,
    registers: [this.registry],
  });
  private readonly probes = new Gauge({
    name: 'drillbook_probe_success',
    help: 'The latest result of a drill probe: 1 passed, 0 failed, by drill and probe',
    labelNames: ['drill', 'probe'] as const,
    registers: [this.registry],
  });
  private readonly coverage = new Gauge({
    name: 'drillbook_trace_coverage_ratio',
    help: "Share of the last drill's critical requests with a complete trace, by operation (span name)",
    labelNames: ['drill', 'span_name'] as const,
    registers: [this.registry],
  });
  /** Labels of faults seen going in, by fault id, to clear them when they come out. */
  private readonly labels = new Map<string, { drill: string; phase: string; fault: string; run_id: string }>();

  /** Follows one run's events: the gauge goes to 1 when a fault is confirmed in, 0 when it is out. */
  observe(event: RunEvent, run: { drill: string; runId: string }): void {
    if (event.kind === 'fault.injecting')
      this.labels.set(event.faultId, { drill: run.drill, phase: event.phase, fault: String(event.fault.kind), run_id: run.runId });
    if (event.kind === 'probe') this.probes.set({ drill: run.drill, probe: event.probe }, event.ok ? 1 : 0);
    const l = 'faultId' in event ? this.labels.get(event.faultId) : undefined;
    if (!l) return;
    if (event.kind === 'fault.injected') this.active.set(l, 1);
    else if (event.kind === 'fault.reverted' || event.kind === 'fault.inject-failed') this.active.set(l, 0);
  }

  /** Sets each operation's trace coverage from a drill's critical requests (replacing the previous drill's figures). */
  setTraceCoverage(drill: string, requests: readonly CoverageRequest[], trace: (traceId: string) => readonly StoredSpan[]): void {
    const byOp = coverageByOperation(requests, trace);
    if (byOp.size === 0) return;
    // Operations the last drill did not sample would otherwise keep an older drill's figure.
    this.coverage.reset();
    for (const [op, value] of byOp) this.coverage.set({ drill, span_name: op }, value);
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
