// The fake-Deployment backend of the Chaos Mesh controller (unit tests without a stage):
// Deployments exist only as objects; their pods are named like a ReplicaSet's and are always
// ready; a pod-kill drops the Deployment's ready replicas and brings them back after a delay.
// Every other fault is only reported.
import { labelsMatch, requirementsOf, type ObjectStore, type SimObject } from './store.ts';
import { Timers, type ChaosBackend, type PodRef, type Undo } from './controllers.ts';

export interface FakeDeployment {
  namespace: string;
  name: string;
  replicas: number;
  labels: Record<string, string>;
}

export class FakeDeploymentBackend implements ChaosBackend {
  private readonly timers = new Timers();
  /** Which Deployment a pod name belongs to. */
  private readonly owners = new Map<string, string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly restartMs: number,
  ) {}

  /** Writes the Deployments that exist from the start. */
  seed(deployments: FakeDeployment[], uid: () => string) {
    for (const d of deployments)
      this.store.write({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: d.name, namespace: d.namespace, labels: d.labels, uid: uid(), generation: 1 },
        spec: { replicas: d.replicas, selector: { matchLabels: d.labels } },
        status: { replicas: d.replicas, readyReplicas: d.replicas, availableReplicas: d.replicas },
      });
  }

  candidates(selector: { namespaces: string[]; labels: Record<string, string> }): PodRef[] {
    const reqs = requirementsOf(selector.labels);
    return selector.namespaces.flatMap((namespace) =>
      this.store
        .list({ kind: 'Deployment', namespace })
        .filter((d) => labelsMatch(d.metadata.labels, reqs))
        .flatMap((d) =>
          Array.from({ length: (d.spec as { replicas: number }).replicas }, (_, i) => {
            const name = `${d.metadata.name}-7c9d5-${i}`;
            this.owners.set(`${namespace}/${name}`, d.metadata.name);
            return { namespace, name };
          }),
        ),
    );
  }

  /** The first ones: unit tests name the pods they expect. */
  pick(pods: PodRef[], count: number): PodRef[] {
    return pods.slice(0, count);
  }

  async inject(obj: SimObject, pods: PodRef[]): Promise<Undo | undefined> {
    if (obj.kind !== 'PodChaos' || obj.spec?.action !== 'pod-kill') return undefined;
    const perDeployment = new Map<string, { namespace: string; count: number }>();
    for (const p of pods) {
      const owner = this.owners.get(`${p.namespace}/${p.name}`);
      if (!owner) continue;
      const key = `${p.namespace}/${owner}`;
      perDeployment.set(key, { namespace: p.namespace, count: (perDeployment.get(key)?.count ?? 0) + 1 });
    }
    for (const [key, { namespace, count }] of perDeployment) this.kill(namespace, key.slice(namespace.length + 1), count);
    return undefined;
  }

  async stop() {
    this.timers.clear();
  }

  /** `count` pods of the Deployment die: ready replicas drop now and return after the restart delay. */
  private kill(namespace: string, name: string, count: number) {
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
