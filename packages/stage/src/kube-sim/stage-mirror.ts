// Stage mode's view of the cluster: the local stage's real processes as Kubernetes objects.
// Polls the control API (replicas every ~200 ms, components every ~500 ms) and writes Pods,
// the ReplicaSet, the Deployment and the StatefulSet only when something changed, so a watch
// sees MODIFIED when a replica dies and again when it is ready. Services and Namespaces are
// static. Nothing here acts on the stage: that is stage-backend.ts.
import { createHash } from 'node:crypto';
import type { ComponentStatus, ReplicaInfo } from '../host/control.ts';
import type { StageControl } from './stage-control.ts';
import type { ObjectStore, SimObject } from './store.ts';

export const APP_NAMESPACE = 'intelgraph';
export const MONITORING_NAMESPACE = 'monitoring';
export const API_APP = 'graph-api';
export const DB_APP = 'graph-db';
export const DB_POD = 'graph-db-0';
/** The Secret holding the database URL drills use (key `url`). */
export const DB_SECRET = 'graph-db-drill';
/** Annotation naming the stage replica behind a graph-api pod. */
export const REPLICA_ANNOTATION = 'drillbook.dev/stage-replica';

/** A Service the simulation answers for, and where its proxy subresource leads. */
export interface SimService {
  namespace: string;
  name: string;
  port: number;
  portName: string;
  selector: Record<string, string>;
}

export const SERVICES: SimService[] = [
  { namespace: APP_NAMESPACE, name: API_APP, port: 80, portName: 'http', selector: { app: API_APP } },
  { namespace: APP_NAMESPACE, name: DB_APP, port: 5432, portName: 'postgres', selector: { app: DB_APP } },
  { namespace: MONITORING_NAMESPACE, name: 'prometheus', port: 9090, portName: 'web', selector: { app: 'prometheus' } },
  { namespace: MONITORING_NAMESPACE, name: 'alertmanager', port: 9093, portName: 'web', selector: { app: 'alertmanager' } },
  { namespace: MONITORING_NAMESPACE, name: 'tempo', port: 3200, portName: 'http', selector: { app: 'tempo' } },
];

// Kubernetes' name-suffix alphabet (no vowels, no look-alikes).
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** A pod-template-hash-like id, stable for one stage. */
function templateHash(seed: string): string {
  const bytes = createHash('sha256').update(seed).digest();
  return Array.from(bytes.subarray(0, 9), (b) => SAFE[b % SAFE.length]).join('');
}

interface Seen {
  pid: number | null;
  startedAt: string;
  ready: boolean;
  since: string;
}

export class StageMirror {
  private replicas: ReplicaInfo[] = [];
  private db: ComponentStatus | undefined;
  private readonly hash: string;
  private readonly created = new Date().toISOString();
  private readonly seen = new Map<string, Seen>();
  private readonly written = new Map<string, string>();
  private readonly uids = new Map<string, string>();
  private readonly loops: NodeJS.Timeout[] = [];
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly control: StageControl,
    private readonly opts: {
      replicaIntervalMs: number;
      statusIntervalMs: number;
      uid: () => string;
      log: (line: string) => void;
      seed: string;
      /** The database as the service reaches it (through the stage's `db` fault proxy), for the `graph-db-drill` Secret. */
      databaseUrl?: string;
    },
  ) {
    this.hash = templateHash(opts.seed);
  }

  get replicaSetName() {
    return `${API_APP}-${this.hash}`;
  }

  podName(index: number) {
    return `${this.replicaSetName}-${index}`;
  }

  /** The stage replica behind a graph-api pod, as last polled. */
  replicaOf(pod: string): ReplicaInfo | undefined {
    const i = this.replicas.findIndex((_, n) => this.podName(n) === pod);
    return i < 0 ? undefined : this.replicas[i];
  }

  /** First poll (so the objects exist before the server answers), then the loops. */
  async start(): Promise<void> {
    this.writeStatic();
    await Promise.all([this.pollReplicas(), this.pollStatus()]);
    this.loop(() => this.pollReplicas(), this.opts.replicaIntervalMs);
    this.loop(() => this.pollStatus(), this.opts.statusIntervalMs);
  }

  stop() {
    this.stopped = true;
    for (const t of this.loops) clearTimeout(t);
  }

  /** Polls once now, outside the loop (after acting on the stage, to see the effect sooner). */
  refresh(): Promise<void> {
    return this.pollReplicas();
  }

  private loop(fn: () => Promise<void>, everyMs: number) {
    const slot = this.loops.length;
    const tick = () => {
      if (this.stopped) return;
      void fn().finally(() => {
        if (!this.stopped) this.loops[slot] = setTimeout(tick, everyMs);
      });
    };
    this.loops.push(setTimeout(tick, everyMs));
  }

  private async pollReplicas() {
    try {
      this.replicas = await this.control.replicas();
      this.failures = 0;
    } catch (err) {
      // A stage that stopped answering: after ~1 s its pods are not ready, as a lost node's would be.
      if (++this.failures === 5) {
        this.opts.log(`stage control API unreachable (${(err as Error).message}); its pods are reported not ready`);
        this.replicas = this.replicas.map((r) => ({ ...r, pid: null, ready: false }));
      }
      if (this.failures < 5) return;
    }
    if (!this.stopped) this.writeApi();
  }

  private async pollStatus() {
    try {
      this.db = (await this.control.status()).find((c) => c.kind === 'postgresql');
    } catch {
      if (this.failures >= 5) this.db = undefined;
    }
    if (!this.stopped) this.writeDb();
  }

  private uid(key: string): string {
    let u = this.uids.get(key);
    if (!u) this.uids.set(key, (u = this.opts.uid()));
    return u;
  }

  /** Writes when the object differs from what was last written (resourceVersion aside). */
  private put(obj: SimObject) {
    const key = `${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    obj.metadata.uid = this.uid(key);
    obj.metadata.creationTimestamp ??= this.created;
    const text = JSON.stringify(obj);
    if (this.written.get(key) === text) return;
    this.written.set(key, text);
    this.store.write(obj);
  }

  /** Start and readiness-transition times of a container, kept across polls. */
  private track(key: string, pid: number | null, ready: boolean): Seen {
    const now = new Date().toISOString();
    const prev = this.seen.get(key);
    const next: Seen = {
      pid,
      startedAt: prev && prev.pid === pid ? prev.startedAt : now,
      ready,
      since: prev && prev.ready === ready ? prev.since : now,
    };
    this.seen.set(key, next);
    return next;
  }

  private pod(p: {
    name: string;
    app: string;
    container: string;
    port: number;
    portName: string;
    pid: number | null;
    ready: boolean;
    restarts: number;
    owner: { kind: string; name: string; apiVersion: string };
    annotations?: Record<string, string>;
    extraLabels?: Record<string, string>;
  }): SimObject {
    const seen = this.track(p.name, p.pid, p.ready);
    const cond = (type: string, ok: boolean, since = this.created) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: since });
    const state =
      p.pid !== null
        ? { running: { startedAt: seen.startedAt } }
        : { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${p.container}` } };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: APP_NAMESPACE,
        labels: { app: p.app, ...p.extraLabels },
        ...(p.annotations ? { annotations: p.annotations } : {}),
        ownerReferences: [{ ...p.owner, uid: this.uid(`${p.owner.kind}/${APP_NAMESPACE}/${p.owner.name}`), controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        nodeName: 'drillbook-sim',
        containers: [{ name: p.container, image: `drillbook/${p.app}:local`, ports: [{ containerPort: p.port, name: p.portName, protocol: 'TCP' }] }],
      },
      status: {
        phase: 'Running',
        conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', p.ready, seen.since), cond('Ready', p.ready, seen.since)],
        containerStatuses: [
          {
            name: p.container,
            image: `drillbook/${p.app}:local`,
            ready: p.ready,
            started: p.pid !== null,
            restartCount: p.restarts,
            state,
            ...(p.restarts > 0 ? { lastState: { terminated: { exitCode: 137, reason: 'Error' } } } : {}),
            // The process id in a container-id shape: it changes when the process is replaced, as a container id does.
            ...(p.pid !== null ? { containerID: `process://${p.pid}` } : {}),
          },
        ],
        hostIP: '127.0.0.1',
        podIP: '127.0.0.1',
        podIPs: [{ ip: '127.0.0.1' }],
        startTime: this.created,
        qosClass: 'BestEffort',
      },
    };
  }

  private writeApi() {
    const n = this.replicas.length;
    const labels = { app: API_APP };
    const hashLabel = { 'pod-template-hash': this.hash };
    this.replicas.forEach((r, i) =>
      this.put(
        this.pod({
          name: this.podName(i),
          app: API_APP,
          container: API_APP,
          port: r.port,
          portName: 'http',
          pid: r.pid,
          ready: r.pid !== null && r.ready,
          restarts: r.restarts,
          owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: this.replicaSetName },
          annotations: { [REPLICA_ANNOTATION]: r.name },
          extraLabels: hashLabel,
        }),
      ),
    );
    const ready = this.replicas.filter((r) => r.pid !== null && r.ready).length;
    // Zero counts are left out, as the API server's omitempty does.
    const counts = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0));
    const template = {
      metadata: { labels },
      spec: { containers: [{ name: API_APP, image: `drillbook/${API_APP}:local`, ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }] }] },
    };
    // A Deployment is Available with at most maxUnavailable (25 %, rounded down) replicas missing.
    const available = ready >= n - Math.floor(n / 4);
    this.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: API_APP, namespace: APP_NAMESPACE, labels, generation: 1, annotations: { 'deployment.kubernetes.io/revision': '1' } },
      spec: {
        replicas: n,
        selector: { matchLabels: labels },
        template,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      },
      status: {
        observedGeneration: 1,
        ...counts({ replicas: n, updatedReplicas: n, readyReplicas: ready, availableReplicas: ready, unavailableReplicas: n - ready }),
        conditions: [
          { type: 'Available', status: available ? 'True' : 'False', reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
        ],
      },
    });
    this.put({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: this.replicaSetName,
        namespace: APP_NAMESPACE,
        labels: { ...labels, ...hashLabel },
        generation: 1,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: API_APP,
            uid: this.uid(`Deployment/${APP_NAMESPACE}/${API_APP}`),
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { replicas: n, selector: { matchLabels: { ...labels, ...hashLabel } }, template },
      status: { observedGeneration: 1, ...counts({ replicas: n, fullyLabeledReplicas: n, readyReplicas: ready, availableReplicas: ready }) },
    });
  }

  private writeDb() {
    const pid = this.db?.pid ?? null;
    const ready = pid !== null && (this.db?.healthy ?? false);
    // The Service's port, as a StatefulSet's container declares it; the real one is the stage's own (urls.database).
    const port = 5432;
    this.put(
      this.pod({
        name: DB_POD,
        app: DB_APP,
        container: 'postgres',
        port,
        portName: 'postgres',
        pid,
        ready,
        restarts: 0,
        owner: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: DB_APP },
        extraLabels: { 'statefulset.kubernetes.io/pod-name': DB_POD },
      }),
    );
    const counts = Object.fromEntries(Object.entries({ readyReplicas: ready ? 1 : 0, availableReplicas: ready ? 1 : 0 }).filter(([, v]) => v !== 0));
    this.put({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: DB_APP, namespace: APP_NAMESPACE, labels: { app: DB_APP }, generation: 1 },
      spec: { replicas: 1, serviceName: DB_APP, selector: { matchLabels: { app: DB_APP } } },
      status: { observedGeneration: 1, replicas: 1, currentReplicas: 1, updatedReplicas: 1, ...counts },
    });
  }

  private writeStatic() {
    for (const ns of [APP_NAMESPACE, MONITORING_NAMESPACE, 'default'])
      this.put({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, namespace: '', labels: { 'kubernetes.io/metadata.name': ns } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    // What a team keeps in a Secret for its drills: how to reach the database. Through the `db` proxy, so a
    // NetworkChaos on graph-db cuts the drill's own SQL too, as a partition of the pod would.
    if (this.opts.databaseUrl)
      this.put({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: DB_SECRET, namespace: APP_NAMESPACE, labels: { app: DB_APP } },
        type: 'Opaque',
        data: { url: Buffer.from(this.opts.databaseUrl).toString('base64') },
      } as unknown as SimObject);
    SERVICES.forEach((s, i) =>
      this.put({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: s.name, namespace: s.namespace, labels: { app: s.selector.app! } },
        spec: {
          type: 'ClusterIP',
          clusterIP: `10.96.0.${10 + i}`,
          selector: s.selector,
          ports: [{ name: s.portName, port: s.port, targetPort: s.portName, protocol: 'TCP' }],
        },
        status: { loadBalancer: {} },
      }),
    );
  }
}
