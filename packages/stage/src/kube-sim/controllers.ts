// The Chaos Mesh controller the simulated API server plays: selects pods, has a backend carry
// the fault out, then reports it (conditions, container records with Apply/Recover events,
// Kubernetes Events); recovers on pause, on expiry of `duration` and on deletion. What a fault
// does is the backend's: fake Deployments (fake-backend.ts) or the local stage's real
// processes and proxies (stage-backend.ts). Work on one object is serialised, so a delete
// arriving while the fault goes in waits for it and then undoes it.
import type { ObjectStore, SimObject } from './store.ts';

export interface ControllerOptions {
  /** Delay before the Chaos Mesh controller carries the fault out. */
  injectDelayMs: number;
  /** Delay between a delete request and the object's removal (recovery runs in between). */
  deleteDelayMs: number;
}

export interface PodRef {
  namespace: string;
  name: string;
}

/** Undoes an injected fault (SIGCONT, clear a proxy, kill a stressor). */
export type Undo = () => Promise<void>;

export interface ChaosBackend {
  /** Pods a Chaos Mesh selector selects that a fault may hit (only ready ones where readiness is real). */
  candidates(selector: { namespaces: string[]; labels: Record<string, string> }): PodRef[];
  /** `count` of the candidates: Chaos Mesh picks at random; a fake may pick the first ones. */
  pick(pods: PodRef[], count: number): PodRef[];
  /** Carries the fault out; resolves with its undo (none for one-shot faults); throws with why it could not. */
  inject(obj: SimObject, pods: PodRef[]): Promise<Undo | undefined>;
  /** Undoes whatever is still injected; nothing the backend started outlives this. */
  stop(): Promise<void>;
}

type Condition = { type: 'Selected' | 'AllInjected' | 'AllRecovered' | 'Paused'; status: 'True' | 'False' };
type RecordEvent = { type: 'Succeeded' | 'Failed'; operation: 'Apply' | 'Recover'; timestamp: string; message?: string };
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

/** Pending timers, all cleared at once when the server stops. */
export class Timers {
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

interface ChaosSpec {
  mode: string;
  value?: string;
  action?: string;
  duration?: string;
  selector: { namespaces?: string[]; labelSelectors?: Record<string, string> };
}

const isOneShot = (obj: SimObject) => obj.kind === 'PodChaos' && (obj.spec?.action === 'pod-kill' || obj.spec?.action === 'container-kill');

export class ChaosMeshController {
  /** When each chaos object was applied (wall ms), by `namespace/name`: what a test compares t_inject with. */
  readonly appliedAt = new Map<string, number>();
  private readonly timers = new Timers();
  /** What is injected now, by `namespace/name`: the pods (for a resume) and the undo. */
  private readonly injected = new Map<string, { pods: PodRef[]; undo?: Undo }>();
  /** One chain of work per object. */
  private readonly chains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly backend: ChaosBackend,
    private readonly opts: ControllerOptions,
  ) {}

  async stop() {
    this.stopped = true;
    this.timers.clear();
    await Promise.allSettled([...this.chains.values()]);
    await this.backend.stop();
  }

  handles(kind: string) {
    return CHAOS_KINDS.has(kind);
  }

  created(obj: SimObject) {
    this.timers.after(this.opts.injectDelayMs, () => this.serial(obj, () => this.apply(obj.metadata.namespace, obj.kind, obj.metadata.name)));
  }

  /** Annotations changed: pausing recovers the fault, resuming applies it again (as Chaos Mesh does). */
  updated(before: SimObject, after: SimObject) {
    const was = before.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
    const is = after.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
    if (was === is || !after.status?.experiment) return;
    this.serial(after, () => (is ? this.recover(after, { paused: true }) : this.reapply(after)));
  }

  /** Deletion: mark it, recover what was injected, then remove (the controller's finalizer). */
  deleting(obj: SimObject) {
    obj.metadata.deletionTimestamp = new Date().toISOString();
    obj.metadata.finalizers = ['chaos-mesh/records'];
    this.store.write(obj);
    this.timers.after(this.opts.deleteDelayMs, () =>
      this.serial(obj, async () => {
        const cur = this.store.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
        if (!cur) return;
        if (cur.status?.experiment) await this.recover(cur, { paused: false });
        this.store.remove(obj.kind, obj.metadata.namespace, obj.metadata.name);
      }),
    );
  }

  private serial(obj: SimObject, fn: () => Promise<void>) {
    const key = `${obj.metadata.namespace}/${obj.kind}/${obj.metadata.name}`;
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(() => (this.stopped ? undefined : fn()))
      .catch(() => {}) // each step records its own failure on the object
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  private async apply(namespace: string, kind: string, name: string) {
    const obj = this.store.get(kind, namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const spec = obj.spec as unknown as ChaosSpec;
    const pods = this.backend.candidates({ namespaces: spec.selector.namespaces ?? [namespace], labels: spec.selector.labelSelectors ?? {} });
    const chosen = this.backend.pick(pods, selectedCount(spec.mode, spec.value, pods.length));
    if (!chosen.length) {
      obj.status = {
        conditions: this.conditions({ Selected: false, AllInjected: false, AllRecovered: false, Paused: false }),
        experiment: { desiredPhase: 'Run', containerRecords: [] },
      };
      this.store.write(obj);
      this.event(obj, 'Warning', 'Failed', `Failed to select targets: no pod is selected by ${JSON.stringify(spec.selector)} in mode ${spec.mode}`);
      return;
    }
    let undo: Undo | undefined;
    let failure: string | undefined;
    try {
      undo = await this.backend.inject(obj, chosen);
    } catch (err) {
      failure = (err as Error).message;
    }
    const at = Date.now();
    const ts = new Date(at).toISOString();
    const cur = this.store.get(kind, namespace, name) ?? obj;
    const records: ContainerRecord[] = chosen.map((pod) => ({
      id: `${pod.namespace}/${pod.name}`,
      phase: failure ? 'Not Injected' : 'Injected',
      selectorKey: '.',
      injectedCount: failure ? 0 : 1,
      recoveredCount: 0,
      events: [failure ? { type: 'Failed', operation: 'Apply', timestamp: ts, message: failure } : { type: 'Succeeded', operation: 'Apply', timestamp: ts }],
    }));
    cur.status = {
      conditions: this.conditions({ Selected: true, AllInjected: !failure, AllRecovered: false, Paused: false }),
      experiment: { desiredPhase: 'Run', containerRecords: records },
    };
    this.store.write(cur);
    const ids = chosen.map((c) => `${c.namespace}/${c.name}`).join(', ');
    if (failure) {
      this.event(cur, 'Warning', 'Failed', `Failed to apply chaos for ${ids}: ${failure}`);
      return;
    }
    this.appliedAt.set(`${namespace}/${name}`, at);
    this.injected.set(`${namespace}/${name}`, { pods: chosen, ...(undo ? { undo } : {}) });
    this.event(cur, 'Normal', 'Applied', `Successfully apply chaos for ${ids}`);
    // `duration` is the fault's own expiry: recovered (not deleted) when it runs out.
    if (spec.duration && !isOneShot(obj))
      this.timers.after(parseGoDuration(spec.duration), () =>
        this.serial(obj, async () => {
          const c = this.store.get(kind, namespace, name);
          if (c && !c.metadata.deletionTimestamp && c.metadata.annotations?.[PAUSE_ANNOTATION] !== 'true') await this.recover(c, { paused: false });
        }),
      );
  }

  private async reapply(obj: SimObject) {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const pods = this.records(obj).map((r) => {
      const [namespace, name] = r.id.split('/');
      return { namespace: namespace!, name: name! };
    });
    let failure: string | undefined;
    let undo: Undo | undefined;
    try {
      undo = await this.backend.inject(obj, pods);
    } catch (err) {
      failure = (err as Error).message;
    }
    const cur = this.store.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
    if (!cur) return;
    const ts = new Date().toISOString();
    const records = this.records(cur);
    for (const r of records) {
      r.events.push(
        failure ? { type: 'Failed', operation: 'Apply', timestamp: ts, message: failure } : { type: 'Succeeded', operation: 'Apply', timestamp: ts },
      );
      if (failure) continue;
      r.injectedCount++;
      r.phase = 'Injected';
    }
    if (!failure) this.injected.set(key, { pods, ...(undo ? { undo } : {}) });
    cur.status = {
      conditions: this.conditions({ Selected: true, AllInjected: !failure, AllRecovered: false, Paused: false }),
      experiment: { desiredPhase: 'Run', containerRecords: records },
    };
    this.store.write(cur);
  }

  private async recover(obj: SimObject, how: { paused: boolean }) {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const oneShot = isOneShot(obj);
    const injection = this.injected.get(key);
    this.injected.delete(key);
    let failure: string | undefined;
    try {
      await injection?.undo?.();
    } catch (err) {
      failure = (err as Error).message;
    }
    const cur = this.store.get(obj.kind, obj.metadata.namespace, obj.metadata.name) ?? obj;
    const ts = new Date().toISOString();
    const records = this.records(cur);
    // A killed pod cannot be un-killed: one-shot records get no Recover event.
    if (!oneShot)
      for (const r of records.filter((x) => x.phase === 'Injected')) {
        if (failure) {
          r.events.push({ type: 'Failed', operation: 'Recover', timestamp: ts, message: failure });
          continue;
        }
        r.events.push({ type: 'Succeeded', operation: 'Recover', timestamp: ts });
        r.recoveredCount++;
        r.phase = 'Not Injected';
      }
    cur.status = {
      conditions: this.conditions({ Selected: true, AllInjected: false, AllRecovered: !oneShot && !failure, Paused: how.paused }),
      experiment: { desiredPhase: 'Stop', containerRecords: records },
    };
    this.store.write(cur);
    if (failure) this.event(cur, 'Warning', 'Failed', `Failed to recover chaos: ${failure}`);
    else this.event(cur, 'Normal', 'Recovered', `Successfully recover chaos for ${records.map((r) => r.id).join(', ')}`);
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
    });
  }
}
