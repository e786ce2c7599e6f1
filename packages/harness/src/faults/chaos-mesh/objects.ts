// Chaos Mesh objects (chaos-mesh.org/v1alpha1) from the same fault definitions the local
// providers carry out. Pure. Every object has a `duration`, so it expires by itself if
// the harness dies; pod-kill is one-shot and its duration only bounds the object's life.
import type { FaultMode, FaultSpec, KubernetesEnvironment } from '../../define/types.ts';

export const CHAOS_GROUP = 'chaos-mesh.org';
export const CHAOS_VERSION = 'v1alpha1';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'drillbook' };

export interface ChaosObject {
  apiVersion: `${typeof CHAOS_GROUP}/${typeof CHAOS_VERSION}`;
  kind: 'PodChaos' | 'NetworkChaos' | 'StressChaos' | 'Workflow';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export const PLURALS: Record<ChaosObject['kind'], string> = { PodChaos: 'podchaos', NetworkChaos: 'networkchaos', StressChaos: 'stresschaos', Workflow: 'workflows' };

/** Chaos Mesh durations are Go durations: whole milliseconds are exact enough. */
export function goDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${Math.round(ms)}ms`;
}

/** DNS-1123 label: lowercase alphanumerics and '-', at most 63. */
export function objectName(runId: string, faultId: string): string {
  const raw = `drillbook-${runId}-${faultId}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-');
  return raw.slice(0, 63).replace(/-+$/, '');
}

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
  const metadata = { name: objectName(ids.runId, ids.faultId), namespace, labels: { ...MANAGED_BY, 'drillbook.dev/run-id': objectName(ids.runId, '').replace(/^drillbook-/, '').slice(0, 63) || 'run' } };
  const base = { ...modeOf(fault.selection), selector };
  const apiVersion = `${CHAOS_GROUP}/${CHAOS_VERSION}` as const;
  switch (fault.kind) {
    case 'pod-kill':
      return { apiVersion, kind: 'PodChaos', metadata, spec: { ...base, action: 'pod-kill', duration: goDuration(ONE_SHOT_LIFETIME) } };
    case 'pod-failure':
      return { apiVersion, kind: 'PodChaos', metadata, spec: { ...base, action: 'pod-failure', duration: goDuration(fault.duration) } };
    case 'stress':
      return { apiVersion, kind: 'StressChaos', metadata, spec: { ...base, duration: goDuration(fault.duration), stressors: { cpu: { workers: fault.cpu.workers, load: fault.cpu.load } } } };
    case 'dependency-outage':
      return { apiVersion, kind: 'NetworkChaos', metadata, spec: { ...base, action: 'partition', direction: 'both', duration: goDuration(fault.duration) } };
    case 'network': {
      const spec: Record<string, unknown> = { ...base, duration: goDuration(fault.duration), direction: fault.direction };
      if (fault.dependency) {
        const dep = selectorFor(env, fault.dependency);
        spec.target = { mode: 'all', selector: dep.selector };
      }
      if (fault.blackhole) spec.action = 'partition';
      else if (fault.bandwidth !== undefined) Object.assign(spec, { action: 'bandwidth', bandwidth: { rate: `${Math.max(1, Math.round((fault.bandwidth * 8) / 1000))}kbps`, limit: 20_971_520, buffer: 10_000 } });
      else if (fault.loss !== undefined && fault.delay === undefined) Object.assign(spec, { action: 'loss', loss: { loss: String(Math.round(fault.loss * 100)), correlation: '0' } });
      else if (fault.reset) Object.assign(spec, { action: 'loss', loss: { loss: '100', correlation: '0' } });
      else {
        spec.action = 'delay';
        spec.delay = { latency: goDuration(fault.delay ?? 0), ...(fault.jitter ? { jitter: goDuration(fault.jitter) } : {}), correlation: '0' };
        if (fault.loss !== undefined) spec.loss = { loss: String(Math.round(fault.loss * 100)), correlation: '0' };
      }
      return { apiVersion, kind: 'NetworkChaos', metadata, spec };
    }
  }
}

/** Several faults run one after another as a Chaos Mesh Workflow (Serial of chaos templates). */
export function workflowFor(faults: FaultSpec[], env: KubernetesEnvironment, ids: { runId: string; name: string }): ChaosObject {
  const children = faults.map((f, i) => ({ f, o: chaosObjectFor(f, env, { runId: ids.runId, faultId: `${ids.name}-${i}` }) }));
  const templates: Array<Record<string, unknown>> = [{ name: 'entry', templateType: 'Serial', deadline: goDuration(children.reduce((s, c) => s + ('duration' in c.f && c.f.duration ? c.f.duration : ONE_SHOT_LIFETIME), 0)), children: children.map((_, i) => `step-${i}`) }];
  children.forEach(({ f, o }, i) => {
    const field = o.kind === 'PodChaos' ? 'podChaos' : o.kind === 'NetworkChaos' ? 'networkChaos' : 'stressChaos';
    const { duration, ...rest } = o.spec as { duration?: string };
    templates.push({ name: `step-${i}`, templateType: o.kind, deadline: duration ?? goDuration('duration' in f && f.duration ? f.duration : ONE_SHOT_LIFETIME), [field]: rest });
  });
  const first = children[0]!.o;
  return { apiVersion: `${CHAOS_GROUP}/${CHAOS_VERSION}`, kind: 'Workflow', metadata: { ...first.metadata, name: objectName(ids.runId, ids.name) }, spec: { entry: 'entry', templates } };
}
