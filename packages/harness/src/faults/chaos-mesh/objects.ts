// Chaos Mesh objects (chaos-mesh.org/v1alpha1) from the same fault definitions the local
// providers carry out. Pure. Every object has a `duration`, so it expires by itself if
// the harness dies; pod-kill is one-shot and its duration only bounds the object's life.
import { createHash } from 'node:crypto';
import type { FaultMode, FaultSpec, KubernetesEnvironment } from '../../define/types.ts';

export const CHAOS_GROUP = 'chaos-mesh.org';
export const CHAOS_VERSION = 'v1alpha1';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'drillbook' };

export interface ChaosObject {
  apiVersion: `${typeof CHAOS_GROUP}/${typeof CHAOS_VERSION}`;
  kind: 'PodChaos' | 'NetworkChaos' | 'StressChaos' | 'Schedule' | 'Workflow';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export const PLURALS: Record<ChaosObject['kind'], string> = {
  PodChaos: 'podchaos',
  NetworkChaos: 'networkchaos',
  StressChaos: 'stresschaos',
  Schedule: 'schedules',
  Workflow: 'workflows',
};

/** The field that embeds a chaos spec in a Schedule or a Workflow template. */
const EMBED_FIELD = { PodChaos: 'podChaos', NetworkChaos: 'networkChaos', StressChaos: 'stressChaos' } as const;

/** Chaos Mesh durations are Go durations: whole milliseconds are exact enough. */
export function goDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${Math.round(ms)}ms`;
}

/** A DNS-1123 label (lowercase alphanumerics and '-', at most 63); a cut name keeps a hash of the whole so two never collide. */
export function dnsLabel(raw: string): string {
  const clean = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (clean.length <= 63) return clean || 'x';
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, 8);
  return `${clean.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** `drillbook-<run>-<fault>`. The fault id the engine hands out already starts with the run id: don't say it twice. */
export function objectName(runId: string, faultId: string): string {
  const fault = faultId.startsWith(`${runId}-`) ? faultId.slice(runId.length + 1) : faultId;
  return dnsLabel(`drillbook-${runId}-${fault}`);
}

/** The label naming the run that created an object: how leftovers are found without the journal. */
export const RUN_ID_LABEL = 'drillbook.dev/run-id';

export function labelsFor(runId: string): Record<string, string> {
  return { ...MANAGED_BY, [RUN_ID_LABEL]: dnsLabel(runId) };
}

/** A fraction 0..1 as Chaos Mesh's percent string ("10", "0.5"). */
const percent = (fraction: number) => String(Math.round(fraction * 10_000) / 100);

function modeOf(selection: FaultMode): { mode: string; value?: string } {
  return 'value' in selection ? { mode: selection.mode, value: String(selection.value) } : { mode: selection.mode };
}

function selectorFor(env: KubernetesEnvironment, targetName: string): { selector: Record<string, unknown>; namespace: string } {
  const t = env.targets[targetName];
  if (!t) throw new Error(`environment has no target '${targetName}' (targets: ${Object.keys(env.targets).join(', ')})`);
  const namespace = t.namespace ?? env.namespaces[0]!;
  return { selector: { namespaces: [namespace], labelSelectors: t.selector }, namespace };
}

/** Duration of a one-shot action's object: long enough to be observed, short enough to expire. */
const ONE_SHOT_LIFETIME = 60_000;

export function chaosObjectFor(fault: FaultSpec, env: KubernetesEnvironment, ids: { runId: string; faultId: string }): ChaosObject {
  if (fault.kind === 'custom' || fault.kind === 'migration' || fault.kind === 'data-loss')
    throw new Error(`a '${fault.kind}' fault has no Chaos Mesh form: on Kubernetes write it as fault.custom with the team's own script`);
  const { selector, namespace } = selectorFor(env, fault.target);
  const metadata = { name: objectName(ids.runId, ids.faultId), namespace, labels: labelsFor(ids.runId) };
  const base = { ...modeOf(fault.selection), selector };
  const apiVersion = `${CHAOS_GROUP}/${CHAOS_VERSION}` as const;
  switch (fault.kind) {
    case 'pod-kill':
      return { apiVersion, kind: 'PodChaos', metadata, spec: { ...base, action: 'pod-kill', duration: goDuration(ONE_SHOT_LIFETIME) } };
    case 'pod-failure':
      return { apiVersion, kind: 'PodChaos', metadata, spec: { ...base, action: 'pod-failure', duration: goDuration(fault.duration) } };
    case 'stress':
      return {
        apiVersion,
        kind: 'StressChaos',
        metadata,
        spec: { ...base, duration: goDuration(fault.duration), stressors: { cpu: { workers: fault.cpu.workers, load: fault.cpu.load } } },
      };
    case 'dependency-outage':
      // The dependency is down (its pods fail: connections refused), as the local stage stops PostgreSQL.
      // A dependency that hangs instead is a different fault: fault.network({ blackhole: true }) → partition.
      return { apiVersion, kind: 'PodChaos', metadata, spec: { ...base, action: 'pod-failure', duration: goDuration(fault.duration) } };
    case 'network': {
      const spec: Record<string, unknown> = { ...base, duration: goDuration(fault.duration), direction: fault.direction };
      if (fault.dependency) {
        const dep = selectorFor(env, fault.dependency);
        spec.target = { mode: 'all', selector: dep.selector };
      }
      if (fault.reset)
        throw new Error(`a network fault with reset has no Chaos Mesh form (NetworkChaos cannot send TCP RST): use blackhole: true or loss on Kubernetes`);
      const netem = {
        ...(fault.delay !== undefined
          ? { delay: { latency: goDuration(fault.delay), ...(fault.jitter ? { jitter: goDuration(fault.jitter) } : {}), correlation: '0' } }
          : {}),
        ...(fault.loss !== undefined ? { loss: { loss: percent(fault.loss), correlation: '0' } } : {}),
      };
      if (fault.blackhole) spec.action = 'partition';
      // Chaos Mesh's rate is in bits: bytes/s × 8. limit/buffer are the tbf queue and burst in bytes.
      else if (fault.bandwidth !== undefined)
        Object.assign(spec, {
          action: 'bandwidth',
          bandwidth: { rate: `${Math.max(1, Math.round((fault.bandwidth * 8) / 1000))}kbps`, limit: 20_971_520, buffer: 10_000 },
        });
      else if ('delay' in netem && 'loss' in netem)
        Object.assign(spec, { action: 'netem' }, netem); // several effects at once
      else if ('loss' in netem) Object.assign(spec, { action: 'loss' }, netem);
      else if ('delay' in netem) Object.assign(spec, { action: 'delay' }, netem);
      else throw new Error(`a network fault needs one of delay, loss, blackhole or bandwidth`);
      return { apiVersion, kind: 'NetworkChaos', metadata, spec };
    }
  }
}

/** Several faults run one after another as a Chaos Mesh Workflow (Serial of chaos templates). */
export function workflowFor(faults: FaultSpec[], env: KubernetesEnvironment, ids: { runId: string; name: string }): ChaosObject {
  const children = faults.map((f, i) => ({ f, o: chaosObjectFor(f, env, { runId: ids.runId, faultId: `${ids.name}-${i}` }) }));
  const templates: Array<Record<string, unknown>> = [
    {
      name: 'entry',
      templateType: 'Serial',
      deadline: goDuration(children.reduce((s, c) => s + ('duration' in c.f && c.f.duration ? c.f.duration : ONE_SHOT_LIFETIME), 0)),
      children: children.map((_, i) => `step-${i}`),
    },
  ];
  children.forEach(({ f, o }, i) => {
    const field = EMBED_FIELD[o.kind as keyof typeof EMBED_FIELD];
    const { duration, ...rest } = o.spec as { duration?: string };
    templates.push({
      name: `step-${i}`,
      templateType: o.kind,
      deadline: duration ?? goDuration('duration' in f && f.duration ? f.duration : ONE_SHOT_LIFETIME),
      [field]: rest,
    });
  });
  const first = children[0]!.o;
  return {
    apiVersion: `${CHAOS_GROUP}/${CHAOS_VERSION}`,
    kind: 'Workflow',
    metadata: { ...first.metadata, name: objectName(ids.runId, ids.name) },
    spec: { entry: 'entry', templates },
  };
}

/**
 * A fault repeated on a cron schedule (a Chaos Mesh Schedule). Each run still carries the
 * fault's duration; Forbid keeps two runs from overlapping.
 */
export function scheduleFor(
  fault: FaultSpec,
  env: KubernetesEnvironment,
  ids: { runId: string; faultId: string },
  cron: { schedule: string; historyLimit?: number },
): ChaosObject {
  const o = chaosObjectFor(fault, env, ids);
  const field = EMBED_FIELD[o.kind as keyof typeof EMBED_FIELD];
  return {
    ...o,
    kind: 'Schedule',
    spec: { schedule: cron.schedule, type: o.kind, historyLimit: cron.historyLimit ?? 1, concurrencyPolicy: 'Forbid', [field]: o.spec },
  };
}
