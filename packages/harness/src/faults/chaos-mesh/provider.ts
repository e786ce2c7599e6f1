// The Chaos Mesh provider: a fault becomes a chaos-mesh.org object, created through the
// Kubernetes API; `t_inject` is when the controller reports AllInjected (the Apply event's
// timestamp); revert deletes it and waits until it is gone. The allow-list is checked
// before any call.
import type { EnvironmentConfig, FaultSpec, KubernetesEnvironment } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, ProviderContext, RevertRecord } from '../../engine/types.ts';
import { assertAllowed } from '../kubernetes/allow-list.ts';
import { CustomObjects, loadKubeConfig, type KubeObject, type ObjectRef } from '../kubernetes/client.ts';
import { CHAOS_GROUP, CHAOS_VERSION, PLURALS, chaosObjectFor, type ChaosObject } from './objects.ts';

const SUPPORTED = new Set(['pod-kill', 'pod-failure', 'network', 'dependency-outage', 'stress']);

interface ChaosData {
  object: ChaosObject;
  kubeconfig: string | null;
  context: string;
  [k: string]: unknown;
}

type Condition = { type: string; status: string };

function refOf(o: ChaosObject): ObjectRef {
  return { group: CHAOS_GROUP, version: CHAOS_VERSION, plural: PLURALS[o.kind], namespace: o.metadata.namespace, name: o.metadata.name };
}

/** When the controller applied the fault: the newest Apply event's timestamp, if reported. */
export function applyTime(obj: KubeObject): number | undefined {
  const records = ((obj.status?.experiment as { containerRecords?: Array<{ events?: Array<{ operation: string; type: string; timestamp: string }> }> })?.containerRecords ?? []);
  const times = records.flatMap((r) => r.events ?? []).filter((e) => e.operation === 'Apply' && e.type === 'Succeeded').map((e) => Date.parse(e.timestamp));
  return times.length ? Math.max(...times) : undefined;
}

const conditionTrue = (obj: KubeObject | undefined, type: string) => ((obj?.status?.conditions as Condition[] | undefined) ?? []).some((c) => c.type === type && c.status === 'True');

export function chaosMeshProvider(options: { kubeconfig?: string; injectTimeoutMs?: number } = {}): FaultProvider {
  const client = (kubeconfig: string | null, context: string) => new CustomObjects(loadKubeConfig(kubeconfig ?? undefined, context));
  return {
    name: 'chaos-mesh',

    supports(fault: FaultSpec, env: EnvironmentConfig) {
      return env.kind === 'kubernetes' && SUPPORTED.has(fault.kind);
    },

    async prepare(fault, faultId, ctx: ProviderContext): Promise<RevertRecord> {
      const env = ctx.environment as KubernetesEnvironment;
      const runId = faultId.split('-').slice(0, 4).join('-');
      const object = chaosObjectFor(fault, env, { runId, faultId: faultId.slice(runId.length + 1) || faultId });
      const kc = loadKubeConfig(options.kubeconfig);
      // Deny by default, before any call: the context and the namespace must be allowed.
      assertAllowed(env, kc.getCurrentContext(), [object.metadata.namespace]);
      const data: ChaosData = { object, kubeconfig: options.kubeconfig ?? null, context: kc.getCurrentContext() };
      return { faultId, provider: 'chaos-mesh', data, description: `delete ${object.kind} ${object.metadata.namespace}/${object.metadata.name}` };
    },

    async inject(_fault, record, ctx): Promise<InjectedFault> {
      const { object, kubeconfig, context } = record.data as ChaosData;
      const c = client(kubeconfig, context);
      await c.create({ group: CHAOS_GROUP, version: CHAOS_VERSION, plural: PLURALS[object.kind], namespace: object.metadata.namespace }, object);
      const injected = await c.watchUntil(refOf(object), (obj) => (conditionTrue(obj, 'AllInjected') ? obj : undefined), options.injectTimeoutMs ?? 60_000, ctx.signal);
      return { tInject: applyTime(injected!) ?? ctx.clock.now(), targets: [`${object.kind} ${object.metadata.namespace}/${object.metadata.name}`] };
    },

    async revert(record) {
      const { object, kubeconfig, context } = record.data as ChaosData;
      const c = client(kubeconfig, context);
      const ref = refOf(object);
      if (!(await c.delete(ref))) return;
      // Deleting is how Chaos Mesh recovers a fault: wait until the object is gone.
      await c.watchUntil(ref, (obj, type) => (type === 'DELETED' || !obj ? true : undefined), 60_000);
    },

    async status(record): Promise<FaultStatus> {
      const { object, kubeconfig, context } = record.data as ChaosData;
      const obj = await client(kubeconfig, context).get(refOf(object));
      if (!obj) return { active: false, detail: 'deleted' };
      const paused = conditionTrue(obj, 'Paused');
      return { active: conditionTrue(obj, 'AllInjected') && !paused, detail: `${object.kind}${paused ? ' paused' : ''}: ${JSON.stringify(obj.status?.conditions ?? [])}` };
    },
  };
}

/** Pause or resume a running experiment (Chaos Mesh's pause annotation). */
export async function setPaused(record: RevertRecord, paused: boolean): Promise<void> {
  const { object, kubeconfig, context } = record.data as ChaosData;
  await new CustomObjects(loadKubeConfig(kubeconfig ?? undefined, context)).mergePatch(refOf(object), { metadata: { annotations: { 'experiment.chaos-mesh.org/pause': paused ? 'true' : null } } });
}

/** The Deployment's ready replicas back at spec.replicas: recovery of a one-shot pod-kill, seen on the workload. */
export async function waitForWorkloadReady(kubeconfig: string | undefined, context: string, namespace: string, name: string, timeoutMs = 120_000): Promise<number> {
  const kc = loadKubeConfig(kubeconfig, context);
  const c = new CustomObjects(kc);
  const ref: ObjectRef = { group: 'apps', version: 'v1', plural: 'deployments', namespace, name };
  return c.watchUntil(ref, (obj) => {
    const s = obj?.status as { readyReplicas?: number } | undefined;
    const want = (obj?.spec as { replicas?: number } | undefined)?.replicas;
    return s && want !== undefined && s.readyReplicas === want ? Date.now() : undefined;
  }, timeoutMs);
}
