// The Chaos Mesh provider: a fault becomes a chaos-mesh.org object created through the
// Kubernetes API. `t_inject` is when the controller applied it (the Apply event's
// timestamp in the watched status); revert deletes it and waits until it is gone. The
// allow-list is checked before any call; a revert checks that the kubeconfig still points
// at the API server the object was created on.
import { CoreV1Api } from '@kubernetes/client-node';
import type { EnvironmentConfig, FaultSpec, KubernetesEnvironment } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, ProviderContext, RevertContext, RevertRecord } from '../../engine/types.ts';
import { SafetyError, assertAllowed } from '../../kubernetes/allow-list.ts';
import { CustomObjects, labelSelector, loadKubeConfig, serverOf, type KubeObject, type ObjectRef } from '../../kubernetes/client.ts';
import { CHAOS_GROUP, CHAOS_VERSION, PLURALS, chaosObjectFor, type ChaosObject } from './objects.ts';
import { maxOf } from '../../util/arrays.ts';

const SUPPORTED = new Set<FaultSpec['kind']>(['pod-kill', 'pod-failure', 'network', 'dependency-outage', 'stress']);
export const PAUSE_ANNOTATION = 'experiment.chaos-mesh.org/pause';

export interface ChaosMeshOptions {
  /** A kubeconfig file; default: $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** The context to use; default: the kubeconfig's current context. Either way it must be the environment's. */
  context?: string;
  injectTimeoutMs?: number;
  revertTimeoutMs?: number;
}

/** What a fresh process needs to delete the object: the record's `data`. */
export interface ChaosRecordData {
  apiVersion: string;
  kind: ChaosObject['kind'];
  namespace: string;
  name: string;
  context: string;
  server: string;
  kubeconfig: string | null;
  /** The object to create (inject only). */
  object: ChaosObject;
  [k: string]: unknown;
}

type Condition = { type: string; status: string };
type RecordEvent = { operation: string; type: string; timestamp: string; message?: string };
type ContainerRecord = { id: string; events?: RecordEvent[] };

const refOf = (d: Pick<ChaosRecordData, 'kind' | 'namespace' | 'name'>): ObjectRef => ({
  group: CHAOS_GROUP,
  version: CHAOS_VERSION,
  plural: PLURALS[d.kind],
  namespace: d.namespace,
  name: d.name,
});
const recordsOf = (obj: KubeObject): ContainerRecord[] =>
  (obj.status?.experiment as { containerRecords?: ContainerRecord[] } | undefined)?.containerRecords ?? [];
const conditionIs = (obj: KubeObject | undefined, type: string, status: 'True' | 'False') =>
  ((obj?.status?.conditions as Condition[] | undefined) ?? []).some((c) => c.type === type && c.status === status);

/** When the controller applied the fault: the newest successful Apply event's timestamp, if reported. */
export function applyTime(obj: KubeObject): number | undefined {
  const times = recordsOf(obj)
    .flatMap((r) => r.events ?? [])
    .filter((e) => e.operation === 'Apply' && e.type === 'Succeeded')
    .map((e) => Date.parse(e.timestamp));
  return times.length ? maxOf(times) : undefined;
}

/** Why the controller could not inject, if it has said so: no pod selected, or a failed Apply. */
export function injectionFailure(obj: KubeObject): string | undefined {
  if (conditionIs(obj, 'Selected', 'False')) return 'no target selected (condition Selected=False)';
  const failed = recordsOf(obj).flatMap((r) =>
    (r.events ?? []).filter((e) => e.operation === 'Apply' && e.type === 'Failed').map((e) => `${r.id}: ${e.message ?? 'Apply failed'}`),
  );
  return failed.length ? `Apply failed on ${failed.join('; ')}` : undefined;
}

/** The Kubernetes Events about one object, oldest first, as `Reason: message` lines. */
async function eventsAbout(c: CustomObjects, namespace: string, name: string): Promise<string[]> {
  try {
    const list = await c.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items.map((e) => `${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`.trim());
  } catch (err) {
    return [`(events could not be read: ${(err as Error).message})`];
  }
}

/** The kubeconfig and context: the provider's options, else the environment's own (its configured context, never the current one). */
function contextFor(options: ChaosMeshOptions, env?: KubernetesEnvironment) {
  const kubeconfig = options.kubeconfig ?? env?.kubeconfig;
  const kc = loadKubeConfig(kubeconfig, options.context ?? env?.context);
  return { kc, context: kc.getCurrentContext(), server: serverOf(kc), kubeconfig };
}

/** A client for the record's context, refusing when that context now points at another server. */
function clientFor(data: ChaosRecordData): CustomObjects {
  const kc = loadKubeConfig(data.kubeconfig ?? undefined, data.context);
  if (serverOf(kc) !== data.server)
    throw new SafetyError(
      `kubeconfig context '${data.context}' now points at ${serverOf(kc)}, but ${data.kind} ${data.namespace}/${data.name} was created on ${data.server}: refusing to touch it (fix the kubeconfig, or delete the object by hand)`,
    );
  return new CustomObjects(kc);
}

/** The engine's fault id is `<run id>-<index>-<phase>`; the run id is `run-YYYYMMDD-HHMMSS-xxxx`. */
export function splitFaultId(faultId: string): { runId: string; faultId: string } {
  const m = /^(run-\d{8}-\d{6}-[0-9a-z]+)-(.+)$/.exec(faultId);
  return m ? { runId: m[1]!, faultId: m[2]! } : { runId: faultId, faultId: 'fault' };
}

/** Every namespace an object touches: its own, its selector's and its network target's. */
export function namespacesOf(o: ChaosObject): string[] {
  const spec = o.spec as { selector?: { namespaces?: string[] }; target?: { selector?: { namespaces?: string[] } } };
  return [...new Set([o.metadata.namespace, ...(spec.selector?.namespaces ?? []), ...(spec.target?.selector?.namespaces ?? [])])];
}

export function chaosMeshProvider(options: ChaosMeshOptions = {}): FaultProvider {
  return {
    name: 'chaos-mesh',

    supports(fault: FaultSpec, env: EnvironmentConfig) {
      return env.kind === 'kubernetes' && SUPPORTED.has(fault.kind);
    },

    async prepare(fault, faultId, ctx: ProviderContext): Promise<RevertRecord> {
      const env = ctx.environment as KubernetesEnvironment;
      const object = chaosObjectFor(fault, env, splitFaultId(faultId));
      // Deny by default, before any call: the context and every namespace must be allowed.
      const { context, server, kubeconfig } = contextFor(options, env);
      assertAllowed(env, context, namespacesOf(object), ctx.environmentName);
      const data: ChaosRecordData = {
        apiVersion: object.apiVersion,
        kind: object.kind,
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        context,
        server,
        kubeconfig: kubeconfig ?? null,
        object,
      };
      return {
        faultId,
        provider: 'chaos-mesh',
        data,
        description: `delete ${object.kind} ${object.metadata.namespace}/${object.metadata.name} (context ${context})`,
      };
    },

    async inject(_fault, record, ctx): Promise<InjectedFault> {
      const data = record.data as ChaosRecordData;
      const c = clientFor(data);
      await c.create({ group: CHAOS_GROUP, version: CHAOS_VERSION, plural: PLURALS[data.kind], namespace: data.namespace }, data.object);
      const what = `${data.kind} ${data.namespace}/${data.name}`;
      let injected: KubeObject;
      try {
        injected = await c.waitForObject(
          refOf(data),
          (obj) => {
            if (!obj) throw new Error(`${what} was deleted before it was injected`);
            const failure = injectionFailure(obj);
            if (failure) throw new Error(`${what}: ${failure}`);
            return conditionIs(obj, 'AllInjected', 'True') ? obj : undefined;
          },
          { timeoutMs: options.injectTimeoutMs ?? 60_000, signal: ctx.signal },
        );
      } catch (err) {
        const events = await eventsAbout(c, data.namespace, data.name);
        throw new Error(`${err instanceof Error ? err.message : String(err)}${events.length ? `; events: ${events.join(' | ')}` : '; no events recorded'}`);
      }
      // The controller's own Apply timestamp; the moment we saw AllInjected when it gave none.
      const tInject = applyTime(injected) ?? ctx.clock.now();
      return { tInject, targets: [what, ...recordsOf(injected).map((r) => `pod ${r.id}`)] };
    },

    async revert(record, _ctx: RevertContext) {
      const data = record.data as ChaosRecordData;
      const c = clientFor(data);
      // Deleting is how Chaos Mesh recovers a fault; absent already means reverted.
      if (!(await c.delete(refOf(data)))) return;
      await c.waitForObject(refOf(data), (obj) => (obj ? undefined : true), { timeoutMs: options.revertTimeoutMs ?? 120_000 });
    },

    async status(record): Promise<FaultStatus> {
      const data = record.data as ChaosRecordData;
      const obj = await clientFor(data).get(refOf(data));
      if (!obj) return { active: false, detail: `${data.kind} ${data.namespace}/${data.name}: deleted` };
      const paused = conditionIs(obj, 'Paused', 'True');
      const conditions = ((obj.status?.conditions as Condition[] | undefined) ?? []).map((c) => `${c.type}=${c.status}`).join(' ');
      return {
        active: conditionIs(obj, 'AllInjected', 'True') && !paused,
        detail: `${data.kind} ${data.namespace}/${data.name}${paused ? ' paused' : ''}${obj.metadata.deletionTimestamp ? ' deleting' : ''}: ${conditions || 'no conditions yet'}`,
      };
    },
  };
}

/** Pauses or resumes a running experiment with Chaos Mesh's pause annotation (merge patch). */
export async function setPaused(record: RevertRecord, paused: boolean): Promise<void> {
  const data = record.data as ChaosRecordData;
  await clientFor(data).mergePatch(refOf(data), { metadata: { annotations: { [PAUSE_ANNOTATION]: paused ? 'true' : null } } });
}

export interface WorkloadWatch {
  kubeconfig?: string;
  context: string;
  namespace: string;
  /** Labels of the Deployment(s) to watch. */
  selector: Record<string, string>;
  /** Wait to see a Deployment short of ready first (when called before the dip is visible). */
  requireDip?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Recovery of a one-shot pod-kill seen on the workload: resolves with the wall time at which
 * every Deployment matching the selector had `status.readyReplicas` back at `spec.replicas`.
 */
export async function waitForWorkloadReady(w: WorkloadWatch): Promise<number> {
  const c = new CustomObjects(loadKubeConfig(w.kubeconfig, w.context));
  let sawDip = !w.requireDip;
  const ready = (d: KubeObject) => ((d.status?.readyReplicas as number | undefined) ?? 0) === ((d.spec?.replicas as number | undefined) ?? 1);
  return c.waitFor(
    { group: 'apps', version: 'v1', plural: 'deployments', namespace: w.namespace, labelSelector: labelSelector(w.selector) },
    (deployments) => {
      if (!deployments.length) return undefined;
      if (!deployments.every(ready)) {
        sawDip = true;
        return undefined;
      }
      return sawDip ? Date.now() : undefined;
    },
    { timeoutMs: w.timeoutMs ?? 120_000, signal: w.signal },
  );
}

/**
 * `--dry-run` against a reachable cluster: each object's server-side dry run as one line — admitted,
 * or the API server's refusal. Throws (the cluster was not asked) when the kubeconfig, the context or
 * the server is not there; a refusal on safety grounds throws as always.
 */
export async function serverDryRunEach(objects: ChaosObject[], env: KubernetesEnvironment, options: ChaosMeshOptions = {}): Promise<string[]> {
  const { kc, context, dryRunCreate } = dryRunner(objects, env, options);
  const { VersionApi } = await import('@kubernetes/client-node');
  const version = await Promise.race([
    kc.makeApiClient(VersionApi).getCode(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${serverOf(kc)} did not answer within 3 s`)), 3_000).unref()),
  ]);
  const out: string[] = [];
  for (const o of objects)
    try {
      await dryRunCreate(o);
      out.push(`admitted by the API server (server-side dry run, ${context} ${version.gitVersion}): nothing was stored`);
    } catch (err) {
      out.push(`REFUSED by the API server (server-side dry run): ${(err as Error).message}`);
    }
  return out;
}

/** The allow-list checked for every object before any call, then a client whose create is a server-side dry run. */
function dryRunner(objects: ChaosObject[], env: KubernetesEnvironment, options: ChaosMeshOptions) {
  const { kc, context } = contextFor(options, env);
  for (const o of objects) assertAllowed(env, context, namespacesOf(o));
  const c = new CustomObjects(kc);
  const dryRunCreate = (o: ChaosObject) =>
    c.create({ group: CHAOS_GROUP, version: CHAOS_VERSION, plural: PLURALS[o.kind], namespace: o.metadata.namespace }, o, { dryRun: true });
  return { kc, context, dryRunCreate };
}

/**
 * `--dry-run` against a real cluster: the API server's own server-side dry run (`dryRun=All`)
 * of each object, after the same allow-list check. Nothing is persisted.
 */
export async function serverDryRun(objects: ChaosObject[], env: KubernetesEnvironment, options: ChaosMeshOptions = {}): Promise<KubeObject[]> {
  const { dryRunCreate } = dryRunner(objects, env, options);
  const out: KubeObject[] = [];
  for (const o of objects) out.push(await dryRunCreate(o));
  return out;
}
