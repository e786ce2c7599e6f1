// A target's pods as the API server reports them: the label selector resolves to pods with
// their phase, readiness, restarts and ports. What probes, the port-forward and `drill doctor`
// need to know about a workload, read from the pods themselves (not from a controller's status,
// which may lag or belong to another kind of workload).
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { apiErrorMessage, labelSelector } from './client.ts';

export interface PodInfo {
  name: string;
  namespace: string;
  phase: string;
  /** The pod's Ready condition is True (and it is not being deleted). */
  ready: boolean;
  restarts: number;
  ports: Array<{ name?: string; containerPort: number }>;
}

/** Pure: the facts the harness uses from one pod object. */
export function podInfo(pod: V1Pod): PodInfo {
  const conditions = pod.status?.conditions ?? [];
  const ready = !pod.metadata?.deletionTimestamp && conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  return {
    name: pod.metadata?.name ?? '',
    namespace: pod.metadata?.namespace ?? '',
    phase: pod.status?.phase ?? 'Unknown',
    ready,
    restarts: (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    ports: (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort }))),
  };
}

/** Pure: the port to reach on a pod — the configured number, the port of that name, else the first declared port. */
export function podPort(pod: PodInfo, wanted?: number | string): number | undefined {
  if (typeof wanted === 'number') return wanted;
  if (typeof wanted === 'string') return pod.ports.find((p) => p.name === wanted)?.containerPort;
  return pod.ports[0]?.containerPort;
}

export async function listPods(kc: KubeConfig, namespace: string, selector: Record<string, string>): Promise<PodInfo[]> {
  try {
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: labelSelector(selector) });
    return list.items.map(podInfo);
  } catch (err) {
    throw new Error(`pods with ${labelSelector(selector)} in ${namespace}: ${apiErrorMessage(err)}`);
  }
}
