// Stage mode's Chaos Mesh backend: faults act on the local stage's real processes.
//   PodChaos pod-kill      graph-api pod → SIGKILL of its replica (the supervisor restarts it);
//                          graph-db-0 → the database crashed, started again after a delay
//   PodChaos pod-failure   graph-api pod → SIGSTOP, SIGCONT on recovery; graph-db-0 → stopped, started
//   NetworkChaos           graph-db involved (selected or the `target`) → the stage's `db` fault
//                          proxy; graph-api pods only → their replicas' proxies. partition =
//                          blackhole; delay/jitter/loss/bandwidth as the local proxy fault maps them
//   StressChaos            stress-ng per selected pod for the duration
// Only ready pods are candidates. Nothing injected outlives stop().
import { readFileSync } from 'node:fs';
import type { ProxyEffects } from '../fault-proxy.ts';
import { isAlive, startTimeOf, waitUntil } from '../proc.ts';
import { parseGoDuration, type ChaosBackend, type PodRef, type Undo } from './controllers.ts';
import { API_APP, DB_APP, DB_POD, type StageMirror } from './stage-mirror.ts';
import type { StageControl } from './stage-control.ts';
import { startStressor, stressNgArgs, type StressSpec, type Stressor } from './stressor.ts';
import { labelsMatch, requirementsOf, type ObjectStore, type SimObject } from './store.ts';

export interface StageBackendOptions {
  /** stress-ng's path; undefined: not installed (a StressChaos then fails to apply, saying so). */
  stressNg: string | undefined;
  /** How long a killed database stays down before it is started again, as a StatefulSet's pod restarts (ms). */
  dbRestartMs: number;
}

interface NetworkSpec {
  action: string;
  direction?: 'to' | 'from' | 'both';
  delay?: { latency?: string; jitter?: string };
  loss?: { loss?: string };
  bandwidth?: { rate?: string };
  target?: { selector?: { namespaces?: string[]; labelSelectors?: Record<string, string> } };
}

/** Chaos Mesh rate ("100kbps", "1mbps", "8bps") in bytes per second. */
export function rateBytesPerSecond(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(bps|kbps|mbps|gbps)$/i.exec(rate.trim());
  if (!m) throw new Error(`bandwidth rate '${rate}' is not understood (e.g. 100kbps)`);
  const bits = Number(m[1]) * { bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9 }[m[2]!.toLowerCase() as 'bps'];
  return Math.max(1, Math.round(bits / 8));
}

/** A NetworkChaos spec as fault-proxy effects (the inverse of the harness's Chaos Mesh mapping). Pure. */
export function networkEffects(spec: NetworkSpec): ProxyEffects {
  const fx: ProxyEffects = { direction: spec.direction ?? 'to' };
  const delay = () => {
    if (spec.delay?.latency) fx.delayMs = parseGoDuration(spec.delay.latency);
    if (spec.delay?.jitter) fx.jitterMs = parseGoDuration(spec.delay.jitter);
  };
  const loss = () => {
    if (spec.loss?.loss !== undefined) fx.loss = Math.min(1, Number(spec.loss.loss) / 100);
  };
  switch (spec.action) {
    case 'partition':
      fx.blackhole = true;
      break;
    case 'delay':
      delay();
      break;
    case 'loss':
      loss();
      break;
    case 'netem':
      delay();
      loss();
      break;
    case 'bandwidth':
      fx.bandwidth = rateBytesPerSecond(spec.bandwidth?.rate ?? '');
      break;
    default:
      throw new Error(`NetworkChaos action '${spec.action}' is not carried out by the simulation (partition, delay, loss, netem, bandwidth are)`);
  }
  return fx;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs once, whoever calls it (the controller's recovery or the backend's stop). */
function once(fn: Undo): Undo {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

export class StageBackend implements ChaosBackend {
  /** Undos of what is injected now: stop() runs them all. */
  private readonly outstanding = new Set<Undo>();
  /** Effects on each fault proxy, newest last: recovering one fault puts back the one under it. */
  private readonly proxyLayers = new Map<string, Array<{ id: symbol; effects: ProxyEffects }>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: ObjectStore,
    private readonly mirror: StageMirror,
    private readonly control: StageControl,
    private readonly opts: StageBackendOptions,
  ) {}

  candidates(selector: { namespaces: string[]; labels: Record<string, string> }): PodRef[] {
    const reqs = requirementsOf(selector.labels);
    return selector.namespaces.flatMap((namespace) =>
      this.store
        .list({ kind: 'Pod', namespace })
        .filter((p) => labelsMatch(p.metadata.labels, reqs) && isReady(p))
        .map((p) => ({ namespace, name: p.metadata.name })),
    );
  }

  pick(pods: PodRef[], count: number): PodRef[] {
    return shuffled(pods).slice(0, count);
  }

  async inject(obj: SimObject, pods: PodRef[]): Promise<Undo | undefined> {
    const undo = await this.carryOut(obj, pods);
    if (!undo) return undefined;
    const wrapped = once(async () => {
      this.outstanding.delete(wrapped);
      await undo();
    });
    this.outstanding.add(wrapped);
    return wrapped;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.outstanding].map((u) => u()));
  }

  private async carryOut(obj: SimObject, pods: PodRef[]): Promise<Undo | undefined> {
    switch (obj.kind) {
      case 'PodChaos':
        return this.podChaos(String(obj.spec?.action ?? ''), pods);
      case 'NetworkChaos':
        return this.networkChaos(obj.spec as unknown as NetworkSpec, pods);
      case 'StressChaos':
        return this.stressChaos(obj, pods);
      default:
        throw new Error(`${obj.kind} is not carried out by the simulation`);
    }
  }

  private appOf(pod: PodRef): string | undefined {
    return this.store.get('Pod', pod.namespace, pod.name)?.metadata.labels?.app;
  }

  private replicaPid(pod: PodRef): { pid: number; startTime: string | undefined; replica: string } {
    const r = this.mirror.replicaOf(pod.name);
    if (!r || r.pid === null) throw new Error(`pod ${pod.namespace}/${pod.name} has no running process`);
    return { pid: r.pid, startTime: startTimeOf(r.pid), replica: r.name };
  }

  private async podChaos(action: string, pods: PodRef[]): Promise<Undo | undefined> {
    const api = pods.filter((p) => this.appOf(p) === API_APP);
    const db = pods.some((p) => p.name === DB_POD && this.appOf(p) === DB_APP);
    if (action === 'pod-kill' || action === 'container-kill') {
      const victims = api.map((p) => this.replicaPid(p));
      for (const v of victims) process.kill(v.pid, 'SIGKILL');
      if (!(await waitUntil(() => victims.every((v) => !isAlive(v.pid)), 5_000, 10)))
        throw new Error(`SIGKILL of ${victims.map((v) => `${v.replica} (pid ${v.pid})`).join(', ')} not confirmed`);
      if (db) {
        await this.control.crashDatabase();
        // A StatefulSet's pod comes back by itself: start the database again after the delay.
        const restart = once(async () => {
          this.outstanding.delete(restart);
          await this.control.startDatabase();
        });
        // Outstanding until it ran: a simulation stopped meanwhile starts it at once.
        this.outstanding.add(restart);
        const t = setTimeout(() => {
          this.timers.delete(t);
          void restart().catch(() => {});
        }, this.opts.dbRestartMs);
        this.timers.add(t);
      }
      await this.mirror.refresh();
      return undefined;
    }
    if (action === 'pod-failure') {
      const victims = api.map((p) => this.replicaPid(p));
      for (const v of victims) process.kill(v.pid, 'SIGSTOP');
      if (!(await waitUntil(() => victims.every((v) => isStopped(v.pid)), 5_000, 10)))
        throw new Error(`SIGSTOP of ${victims.map((v) => `${v.replica} (pid ${v.pid})`).join(', ')} not confirmed`);
      if (db) await this.control.stopDatabase();
      return async () => {
        // Only the process we stopped: a pid reused since then is someone else's.
        for (const v of victims) if (startTimeOf(v.pid) === v.startTime) process.kill(v.pid, 'SIGCONT');
        if (db) await this.control.startDatabase();
      };
    }
    throw new Error(`PodChaos action '${action}' is not carried out by the simulation (pod-kill, container-kill, pod-failure are)`);
  }

  private async networkChaos(spec: NetworkSpec, pods: PodRef[]): Promise<Undo> {
    const effects = networkEffects(spec);
    const targetSel = spec.target?.selector;
    const targetPods = targetSel ? this.candidates({ namespaces: targetSel.namespaces ?? [], labels: targetSel.labelSelectors ?? {} }) : [];
    // One proxy sits between all replicas and PostgreSQL: any graph-db pod involved means that one.
    const involvesDb = [...pods, ...targetPods].some((p) => this.appOf(p) === DB_APP);
    const proxies = involvesDb ? ['db'] : pods.filter((p) => this.appOf(p) === API_APP).map((p) => this.replicaPid(p).replica);
    if (!proxies.length) throw new Error('no fault proxy of the stage carries the selected pods’ traffic');
    const id = Symbol('network-chaos');
    for (const name of proxies) {
      const layers = this.proxyLayers.get(name) ?? [];
      layers.push({ id, effects });
      this.proxyLayers.set(name, layers);
      await this.control.setProxy(name, effects);
    }
    return async () => {
      for (const name of proxies) {
        const layers = (this.proxyLayers.get(name) ?? []).filter((l) => l.id !== id);
        this.proxyLayers.set(name, layers);
        const top = layers[layers.length - 1];
        if (top) await this.control.setProxy(name, top.effects);
        else await this.control.clearProxy(name);
      }
    };
  }

  private async stressChaos(obj: SimObject, pods: PodRef[]): Promise<Undo> {
    const binary = this.opts.stressNg;
    if (!binary) throw new Error('stress-ng is not installed on the machine that runs the simulation (apt-get install stress-ng)');
    const durationMs = obj.spec?.duration ? parseGoDuration(String(obj.spec.duration)) : 60_000;
    // A grace of 30 s past the duration: recovery stops it on time; this only bounds the unexpected.
    const args = stressNgArgs((obj.spec?.stressors ?? {}) as StressSpec, durationMs / 1000 + 30);
    const started: Stressor[] = [];
    try {
      for (const _ of pods) started.push(await startStressor(binary, args));
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw err;
    }
    return async () => {
      await Promise.all(started.map((s) => s.stop()));
    };
  }
}

/** Stopped by a signal (state T in /proc). */
function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'T';
  } catch {
    return false;
  }
}

const isReady = (pod: SimObject) =>
  ((pod.status?.conditions ?? []) as Array<{ type: string; status: string }>).some((c) => c.type === 'Ready' && c.status === 'True');
