// What a run needs of a cluster before it starts, for preflight: every target the drill uses
// resolves to ready pods. (`drill doctor` asks more: kubernetes/doctor.ts.)
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesEnvironment } from '../define/config.ts';
import type { DrillPlan } from '../define/types.ts';
import { labelSelector } from './client.ts';
import { listPods } from './pods.ts';

/** Pure: the environment targets a plan touches — faults, HTTP/SQL/replica probes, the restore's database. */
export function targetsUsed(plan: DrillPlan): string[] {
  const names = new Set<string>();
  for (const p of plan.steadyState) if ('target' in p && typeof p.target === 'string') names.add(p.target);
  for (const ph of plan.phases) {
    const f = ph.fault;
    if (!f) continue;
    if ('target' in f && typeof f.target === 'string') names.add(f.target);
    if ('dependency' in f && typeof f.dependency === 'string') names.add(f.dependency);
  }
  if (plan.restore) names.add(plan.restore.database);
  return [...names];
}

export async function clusterChecks(kc: KubeConfig, env: KubernetesEnvironment, plan: DrillPlan): Promise<{ checked: string[]; problems: string[] }> {
  const checked: string[] = [];
  const problems: string[] = [];
  for (const name of targetsUsed(plan)) {
    const target = env.targets[name];
    if (!target) continue; // the environment lookup reports unknown targets with the list of known ones
    const namespace = target.namespace ?? env.namespaces[0]!;
    const what = `target '${name}' (${labelSelector(target.selector)} in ${namespace})`;
    try {
      const pods = await listPods(kc, namespace, target.selector);
      const ready = pods.filter((p) => p.ready).length;
      if (!pods.length) problems.push(`${what}: no pods match (check the selector and namespace in drillbook.config.ts)`);
      else if (!ready) problems.push(`${what}: ${pods.length} pod(s), none ready (${pods.map((p) => `${p.name} ${p.phase}`).join(', ')})`);
      else checked.push(`${what}: ${ready}/${pods.length} pods ready`);
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  }
  return { checked, problems };
}
