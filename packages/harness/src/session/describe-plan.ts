// What `drill run --dry-run` prints: the timeline, the faults with their targets and
// providers, the steady state and the stop conditions. Pure: plan in, text out.
import { formatDuration } from '../define/duration.ts';
import type { DrillPlan, FaultSpec, ProbeSpec, StopCondition } from '../define/types.ts';
import { describeTolerance } from '../observe/probes.ts';

export interface PlanDescriptionInput {
  plan: DrillPlan;
  environmentName: string;
  environmentKind: string;
  /** The provider chosen for each fault phase, by phase name. */
  providers: Record<string, string>;
  /** Extra lines per phase (e.g. the Chaos Mesh object a fault would create). */
  details?: Record<string, string[]>;
}

export function describeFault(f: FaultSpec): string {
  const sel = 'selection' in f && f.selection ? ` (${f.selection.mode}${'value' in f.selection ? ` ${f.selection.value}` : ''})` : '';
  const on = 'target' in f && f.target ? ` on ${f.target}${sel}` : '';
  const dur = 'duration' in f && f.duration ? ` for ${formatDuration(f.duration)}` : '';
  switch (f.kind) {
    case 'network': {
      const parts = [
        f.delay !== undefined ? `delay ${formatDuration(f.delay)}${f.jitter ? ` ±${formatDuration(f.jitter)}` : ''}` : '',
        f.loss !== undefined ? `loss ${(f.loss * 100).toFixed(0)}%` : '',
        f.reset ? 'reset' : '',
        f.blackhole ? 'blackhole' : '',
        f.bandwidth !== undefined ? `bandwidth ${f.bandwidth} B/s` : '',
      ].filter(Boolean);
      return `network ${parts.join(', ')}${f.dependency ? ` to ${f.dependency}` : ''} (${f.direction})${on}${dur}`;
    }
    case 'stress':
      return `CPU stress ${f.cpu.workers}×${f.cpu.load}%${on}${dur}`;
    case 'custom':
      return `custom action ${f.name}${dur}`;
    default:
      return `${f.kind}${on}${dur}`;
  }
}

export function describeProbe(p: ProbeSpec): string {
  const every = `every ${formatDuration(p.every)}`;
  switch (p.kind) {
    case 'http':
      return `${p.name}: HTTP ${p.method} ${p.target}${p.path} expects ${p.expect.status.join('|')}${p.expect.maxMs ? ` within ${p.expect.maxMs} ms` : ''}, ${every}`;
    case 'promql':
      return `${p.name}: PromQL ${p.query} ${describeTolerance(p.tolerance)}, ${every}`;
    case 'sql':
      return `${p.name}: SQL on ${p.target}: ${p.query}, ${every}`;
    case 'journey':
      return `${p.name}: journey ${p.journey}, ${every}`;
    case 'k8s':
      return `${p.name}: ready replicas of ${p.target} ${describeTolerance(p.tolerance)}, ${every}`;
  }
}

export function describeStop(s: StopCondition): string {
  switch (s.kind) {
    case 'budget-consumed':
      return `error budget of ${s.slo} consumed above ${(s.above * 100).toFixed(1)}%`;
    case 'error-ratio':
      return `error ratio above ${s.above} for ${s.for} consecutive intervals`;
    case 'alert-firing':
      return `alert ${s.alert} firing longer than ${formatDuration(s.longerThan)}`;
    case 'probe-failing':
      return `probe ${s.probe} failing ${s.for} times in a row`;
  }
}

export function describePlan(input: PlanDescriptionInput): string {
  const { plan } = input;
  const lines: string[] = [];
  lines.push(`${plan.name} — ${plan.title}`);
  lines.push(`environment: ${input.environmentName} (${input.environmentKind}) · recovered = ${plan.recoveryPasses} consecutive passing probes`);
  if (plan.load) lines.push(`load: ${plan.load}, for the whole run`);
  lines.push('', 'steady state:');
  for (const p of plan.steadyState) lines.push(`  ${describeProbe(p)}`);
  if (plan.steadyState.length === 0) lines.push('  (none: recovery cannot be measured)');
  lines.push('', 'timeline:');
  let offset = 0;
  let open = false;
  for (const phase of plan.phases) {
    const at = `${open ? '≥' : ' '}+${formatDuration(offset)}`;
    const length = phase.fault
      ? `until recovered (≤ ${formatDuration(phase.expect?.recoverWithin ?? 0)})${phase.duration ? `, at least ${formatDuration(phase.duration)}` : ''}`
      : formatDuration(phase.duration ?? 0);
    lines.push(`  ${at.padEnd(10)} ${phase.name.padEnd(20)} ${length}`);
    if (phase.fault) {
      lines.push(`  ${''.padEnd(10)} ${''.padEnd(20)} fault: ${describeFault(phase.fault)} via ${input.providers[phase.name] ?? '?'}`);
      if (phase.until === 'mitigated')
        lines.push(
          `  ${''.padEnd(10)} ${''.padEnd(20)} stays until mitigated (the harness reverts it at ${formatDuration(phase.deadline ?? 0)})` +
            (phase.remediate ? `; on ${phase.remediate.onAlert} via Alertmanager: ${phase.remediate.run}` : "; mark it with 'drill mitigate'"),
        );
      if (phase.expect?.alerts.length) lines.push(`  ${''.padEnd(10)} ${''.padEnd(20)} expects alerts: ${phase.expect.alerts.join(', ')}`);
      for (const d of input.details?.[phase.name] ?? []) lines.push(`  ${''.padEnd(10)} ${''.padEnd(20)} ${d}`);
      open = true;
      offset += Math.max(phase.duration ?? 0, 'duration' in phase.fault && phase.fault.duration ? phase.fault.duration : 0);
    } else offset += phase.duration ?? 0;
  }
  if (plan.restore)
    lines.push('', `restore: ${plan.restore.kind} of ${plan.restore.database}, heartbeat every ${formatDuration(plan.restore.heartbeat.every)}`);
  if (plan.targets)
    lines.push(
      `targets: ${plan.targets.rpo ? `RPO ≤ ${formatDuration(plan.targets.rpo)}` : ''} ${plan.targets.rto ? `RTO ≤ ${formatDuration(plan.targets.rto)}` : ''}`.trimEnd(),
    );
  lines.push('', 'stop conditions:');
  for (const s of plan.stopWhen) lines.push(`  ${describeStop(s)}`);
  if (plan.stopWhen.length === 0) lines.push('  (none)');
  return lines.join('\n');
}
