// Labels as the fallback to the journal: every chaos object a run creates carries
// `app.kubernetes.io/managed-by=drillbook` and `drillbook.dev/run-id=<run>`. At the end of a run
// its own leftovers are deleted by that label; `drill recover --env <k8s>` deletes every run's,
// except those of harnesses still running — even when the journal is gone.
import type { KubernetesEnvironment } from '../../define/types.ts';
import { assertAllowed } from '../../kubernetes/allow-list.ts';
import { CustomObjects, labelSelector, loadKubeConfig } from '../../kubernetes/client.ts';
import { CHAOS_GROUP, CHAOS_VERSION, MANAGED_BY, PLURALS, RUN_ID_LABEL, dnsLabel } from './objects.ts';

export interface SweepResult {
  deleted: string[];
  /** Objects of runs that are still going (left alone). */
  kept: string[];
  failed: Array<{ object: string; error: string }>;
}

/**
 * Deletes the drillbook-managed chaos objects in the environment's allow-listed namespaces: those of
 * `runId` only when given, else all but the runs in `keepRunIds`. Waits until each is gone (Chaos Mesh
 * recovers a fault before its object disappears).
 */
export async function sweepChaosObjects(
  env: KubernetesEnvironment,
  opts: { runId?: string; keepRunIds?: ReadonlySet<string>; timeoutMs?: number } = {},
): Promise<SweepResult> {
  const kc = loadKubeConfig(env.kubeconfig, env.context);
  assertAllowed(env, kc.getCurrentContext(), env.namespaces);
  const c = new CustomObjects(kc);
  const keep = new Set([...(opts.keepRunIds ?? [])].map(dnsLabel));
  const selector = labelSelector({ ...MANAGED_BY, ...(opts.runId ? { [RUN_ID_LABEL]: dnsLabel(opts.runId) } : {}) });
  const out: SweepResult = { deleted: [], kept: [], failed: [] };
  for (const namespace of env.namespaces)
    for (const plural of Object.values(PLURALS)) {
      const collection = { group: CHAOS_GROUP, version: CHAOS_VERSION, plural, namespace };
      let items;
      try {
        items = (await c.list(collection, { labelSelector: selector })).items;
      } catch (err) {
        // A cluster without this CRD has none of these objects to leave behind.
        if (/404|could not find/i.test((err as Error).message)) continue;
        throw err;
      }
      for (const obj of items) {
        const what = `${plural}/${namespace}/${obj.metadata.name}`;
        if (keep.has(obj.metadata.labels?.[RUN_ID_LABEL] ?? '')) {
          out.kept.push(what);
          continue;
        }
        try {
          const ref = { ...collection, name: obj.metadata.name };
          await c.delete(ref);
          await c.waitForObject(ref, (o) => (o ? undefined : true), { timeoutMs: opts.timeoutMs ?? 60_000 });
          out.deleted.push(what);
        } catch (err) {
          out.failed.push({ object: what, error: (err as Error).message });
        }
      }
    }
  return out;
}
