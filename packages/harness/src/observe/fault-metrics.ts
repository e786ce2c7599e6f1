// The harness's own /metrics: `drillbook_fault_active{drill,phase,fault,run_id}` is 1 while a
// fault is in and 0 after, so Prometheus (and the dashboards built from alerts/, which shade
// fault windows from it) sees when the drill hurt the system, beside the system's own series.
import { Gauge, Registry } from 'prom-client';
import type { RunEvent } from '../engine/types.ts';

export class FaultMetrics {
  readonly registry = new Registry();
  private readonly active = new Gauge({
    name: 'drillbook_fault_active',
    help: 'Whether a drill fault is in (1) or out (0), by drill, phase and fault kind',
    labelNames: ['drill', 'phase', 'fault', 'run_id'] as const,
    registers: [this.registry],
  });
  /** Labels of faults seen going in, by fault id, to clear them when they come out. */
  private readonly labels = new Map<string, { drill: string; phase: string; fault: string; run_id: string }>();

  /** Follows one run's events: the gauge goes to 1 when a fault is confirmed in, 0 when it is out. */
  observe(event: RunEvent, run: { drill: string; runId: string }): void {
    if (event.kind === 'fault.injecting') this.labels.set(event.faultId, { drill: run.drill, phase: event.phase, fault: String(event.fault.kind), run_id: run.runId });
    const l = 'faultId' in event ? this.labels.get(event.faultId) : undefined;
    if (!l) return;
    if (event.kind === 'fault.injected') this.active.set(l, 1);
    else if (event.kind === 'fault.reverted' || event.kind === 'fault.inject-failed') this.active.set(l, 0);
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
