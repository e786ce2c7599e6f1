// The two controllers the simulated API server plays. Chaos Mesh: selects pods, applies the
// fault after a delay (conditions, container records with Apply events, Kubernetes Events),
// recovers on pause, on expiry of `duration` and on deletion. A Deployment: ready replicas
// drop by the number of pods a pod-kill kills and come back after a delay.
import type { ObjectStore, SimObject } from './store.ts';

export interface ControllerOptions {
  /** Delay before the Chaos Mesh controller reports the fault applied. */
  injectDelayMs: number;
  /** Delay between a delete request and the object's removal (recovery runs in between). */
  deleteDelayMs: number;
  /** How long a killed pod takes to be ready again. */
  podRestartMs: number;
}

type Condition = { type: 'Selected' | 'AllInjected' | 'AllRecovered' | 'Paused'; status: 'True' | 'False' };
type RecordEvent = { type: 'Succeeded' | 'Failed'; operation: 'Apply' | 'Recover'; timestamp: string };
type ContainerRecord = {
  id: string;
  phase: 'Injected' | 'Not Injected';
  selectorKey: string;
  injectedCount: number;
  recoveredCount: number;
  events: RecordEvent[];
};

export const PAUSE_ANNOTATION = 'experiment.chaos-mesh.org/pause';
const CHAOS_KINDS = new Set(['PodChaos', 'NetworkChaos', 'StressChaos']);

/** Go duration (`90s`, `1m30s`, `250ms`) in ms. */
export function parseGoDuration(s: string): number {
  let total = 0;
  for (const [, n, unit] of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

/** How many of `available` pods a Chaos Mesh mode selects. */
export function selectedCount(mode: string, value: string | undefined, available: number): number {
  switch (mode) {
    case 'one':
      return Math.min(1, available);
    case 'all':
      return available;
    case 'fixed':
      return Math.min(Number(value), available);
    case 'fixed-percent':
      return Math.floor((available * Number(value)) / 100);
    case 'random-max-percent':
      return Math.max(Math.min(1, available), Math.floor((available * Number(value)) / 100));
    default:
      return 0;
  }
}

class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  after(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      this.pending.delete(t);
      fn();
    }, ms);
    this.pending.add(t);
  }
  clear() {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}

export class DeploymentController {
  constructor(
    private readonly store: ObjectStore,
    private readonly timers: Timers,
    private readonly restartMs: number,
  ) {}

  /** Pods of the Deployments in `namespaces` whose labels match, named like a ReplicaSet's. */
  podsFor(namespaces: string[], labels: Record<string, string>): Array<{ deployment: SimObject; pod: string }> {
    return namespaces.flatMap((ns) =>
      this.store
        .list({ kind: 'Deployment', namespace: ns, labels })
        .flatMap((d) => Array.from({ length: (d.spec as { replicas: number }).replicas }, (_, i) => ({ deployment: d, pod: `${d.metadata.name}-7c9d5-${i}` }))),
    );
  }

  /** `count` pods of the Deployment die: ready replicas drop now and return after the restart delay. */
  kill(namespace: string, name: string, count: number) {
    this.adjustReady(namespace, name, -count);
    this.timers.after(this.restartMs, () => this.adjustReady(namespace, name, count));
  }

  private adjustReady(namespace: string, name: string, delta: number) {
    const d = this.store.get('Deployment', namespace, name);
    if (!d) return;
    const desired = (d.spec as { replicas: number }).replicas;
    const ready = Math.max(0, Math.min(desired, ((d.status?.readyReplicas as number | undefined) ?? desired) + delta));
    d.status = { ...d.status, readyReplicas: ready, availableReplicas: ready, unavailableReplicas: desired - ready };
    this.store.write(d);
  }
}

export class ChaosMeshController {
  /** When each chaos object was applied (wall ms), by `namespace/name`: what a test compares t_inject with. */
  readonly appliedAt = new Map<string, number>();
  private readonly timers = new Timers();
  readonly deployments: DeploymentController;

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: ControllerOptions,
  ) {
    this.deployments = new DeploymentController(store, this.timers, opts.podRestartMs);
  }

  stop() {
    this.timers.clear();
  }

  handles(kind: string) {
    return CHAOS_KINDS.has(kind);
  }

  created(obj: SimObject) {
    this.timers.after(this.opts.injectDelayMs, () => this.apply(obj.metadata.namespace, obj.kind, obj.metadata.name));
  }

  /** Annotations changed: pausing recovers the fault, resuming applies it again (as Chaos Mesh does). */
  updated(before: SimObject, after: SimObject) {
    const was = before.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
    const is = after.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
    if (was === is || !after.status?.experiment) return;
    if (is) this.recover(after, { paused: true });
    else this.reapply(after);
  }

  /** Deletion: mark it, recover what was injected, then remove (the controller's finalizer). */
  deleting(obj: SimObject) {
    obj.metadata.deletionTimestamp = new Date().toISOString();
    obj.metadata.finalizers = ['chaos-mesh/records'];
    this.store.write(obj);
    this.timers.after(this.opts.deleteDelayMs, () => {
      const cur = this.store.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
      if (!cur) return;
      if (cur.status?.experiment) this.recover(cur, { paused: false });
      this.store.remove(obj.kind, obj.metadata.namespace, obj.metadata.name);
    });
  }

  private apply(namespace: string, kind: string, name: string) {
    const obj = this.store.get(kind, namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const spec = obj.spec as {
      mode: string;
      value?: string;
      action?: string;
      duration?: string;
      selector: { namespaces?: string[]; labelSelectors?: Record<string, string> };
    };
    const pods = this.deployments.podsFor(spec.selector.namespaces ?? [namespace], spec.selector.labelSelectors ?? {});
    const chosen = pods.slice(0, selectedCount(spec.mode, spec.value, pods.length));
    if (!chosen.length) {
      obj.status = {
        conditions: this.conditions({ Selected: false, AllInjected: false, AllRecovered: false, Paused: false }),
        experiment: { desiredPhase: 'Run', containerRecords: [] },
      };
      this.store.write(obj);
      this.event(obj, 'Warning', 'Failed', `Failed to select targets: no pod is selected by ${JSON.stringify(spec.selector)} in mode ${spec.mode}`);
      return;
    }
    const at = Date.now();
    const ts = new Date(at).toISOString();
    const records: ContainerRecord[] = chosen.map(({ pod }) => ({
      id: `${namespace}/${pod}`,
      phase: 'Injected',
      selectorKey: '.',
      injectedCount: 1,
      recoveredCount: 0,
      events: [{ type: 'Succeeded', operation: 'Apply', timestamp: ts }],
    }));
    obj.status = {
      conditions: this.conditions({ Selected: true, AllInjected: true, AllRecovered: false, Paused: false }),
      experiment: { desiredPhase: 'Run', containerRecords: records },
    };
    this.appliedAt.set(`${namespace}/${name}`, at);
    this.store.write(obj);
    this.event(obj, 'Normal', 'Applied', `Successfully apply chaos for ${chosen.map((c) => `${namespace}/${c.pod}`).join(', ')}`);
    if (kind === 'PodChaos' && spec.action === 'pod-kill') {
      const perDeployment = new Map<string, number>();
      for (const c of chosen) perDeployment.set(c.deployment.metadata.name, (perDeployment.get(c.deployment.metadata.name) ?? 0) + 1);
      for (const [dep, n] of perDeployment) this.deployments.kill(chosen[0]!.deployment.metadata.namespace, dep, n);
    }
    // `duration` is the fault's own expiry: recovered (not deleted) when it runs out.
    if (spec.duration && spec.action !== 'pod-kill')
      this.timers.after(parseGoDuration(spec.duration), () => {
        const cur = this.store.get(kind, namespace, name);
        if (cur && !cur.metadata.deletionTimestamp && cur.metadata.annotations?.[PAUSE_ANNOTATION] !== 'true') this.recover(cur, { paused: false });
      });
  }

  private reapply(obj: SimObject) {
    const ts = new Date().toISOString();
    const records = this.records(obj);
    for (const r of records) {
      r.events.push({ type: 'Succeeded', operation: 'Apply', timestamp: ts });
      r.injectedCount++;
      r.phase = 'Injected';
    }
    obj.status = {
      conditions: this.conditions({ Selected: true, AllInjected: true, AllRecovered: false, Paused: false }),
      experiment: { desiredPhase: 'Run', containerRecords: records },
    };
    this.store.write(obj);
  }

  private recover(obj: SimObject, how: { paused: boolean }) {
    const ts = new Date().toISOString();
    const oneShot = obj.kind === 'PodChaos' && obj.spec?.action === 'pod-kill';
    const records = this.records(obj);
    // A killed pod cannot be un-killed: one-shot records get no Recover event.
    if (!oneShot)
      for (const r of records.filter((x) => x.phase === 'Injected')) {
        r.events.push({ type: 'Succeeded', operation: 'Recover', timestamp: ts });
        r.recoveredCount++;
        r.phase = 'Not Injected';
      }
    obj.status = {
      conditions: this.conditions({ Selected: true, AllInjected: false, AllRecovered: !oneShot, Paused: how.paused }),
      experiment: { desiredPhase: 'Stop', containerRecords: records },
    };
    this.store.write(obj);
    this.event(obj, 'Normal', 'Recovered', `Successfully recover chaos for ${records.map((r) => r.id).join(', ')}`);
  }

  private records(obj: SimObject): ContainerRecord[] {
    return structuredClone((obj.status?.experiment as { containerRecords?: ContainerRecord[] } | undefined)?.containerRecords ?? []);
  }

  private conditions(c: Record<Condition['type'], boolean>): Condition[] {
    return (Object.entries(c) as Array<[Condition['type'], boolean]>).map(([type, v]) => ({ type, status: v ? 'True' : 'False' }));
  }

  /** A core/v1 Event about the chaos object, as the controller's recorder writes it. */
  private event(obj: SimObject, type: 'Normal' | 'Warning', reason: string, message: string) {
    const now = new Date().toISOString();
    this.store.write({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${this.store.resourceVersion + 1}`, namespace: obj.metadata.namespace },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid },
      type,
      reason,
      message,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: 'chaos-controller-manager' },
    } as SimObject);
  }
}
