// The k6-operator's part the simulation plays: a TestRun moves through the operator's stages
// (initialization → initialized → created → started → finished | error) while a runner the
// caller injects does the load — the harness's embedded runner, say; this package has no load
// generator of its own. Without a runner a TestRun ends in `error`, saying so. Deleting a
// TestRun aborts its run.
import type { ObjectStore, SimObject } from './store.ts';

export interface TestRunRequest {
  namespace: string;
  name: string;
  spec: Record<string, unknown>;
  /** The k6 script from the ConfigMap the TestRun names, when that ConfigMap exists. */
  script?: string;
  /** BASE_URL from spec.runner.env (the service as seen inside the cluster), if set. */
  baseUrl?: string;
  /** Stage mode: the stage's service (its balancer), where the load can really go. */
  serviceUrl?: string;
  /** Aborted when the TestRun is deleted or the simulation stops. */
  signal: AbortSignal;
}

/** Runs a TestRun's load; `ok: false` ends it in the `error` stage with the message. */
export type TestRunRunner = (run: TestRunRequest) => Promise<{ ok: boolean; message?: string }>;

const STAGES_BEFORE_RUN = ['initialization', 'initialized', 'created'] as const;

export class TestRunController {
  private readonly running = new Map<string, AbortController>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: { stepMs: number; runner?: TestRunRunner; serviceUrl?: string },
  ) {}

  handles(kind: string) {
    return kind === 'TestRun';
  }

  created(obj: SimObject) {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const abort = new AbortController();
    this.running.set(key, abort);
    void this.run(obj, abort.signal).finally(() => {
      if (this.running.get(key) === abort) this.running.delete(key);
    });
  }

  /** Aborts the run, then removes the object. */
  deleting(obj: SimObject) {
    this.running.get(`${obj.metadata.namespace}/${obj.metadata.name}`)?.abort(new Error('the TestRun was deleted'));
    this.store.remove(obj.kind, obj.metadata.namespace, obj.metadata.name);
  }

  stop() {
    for (const t of this.timers) clearTimeout(t);
    for (const a of this.running.values()) a.abort(new Error('the simulation stopped'));
  }

  private sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Writes the stage (and conditions) onto the current object; false once it is gone. */
  private setStage(obj: SimObject, stage: string, running: boolean, message?: string): boolean {
    const cur = this.store.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
    if (!cur) return false;
    const now = new Date().toISOString();
    cur.status = {
      stage,
      conditions: [
        { type: 'TestRunRunning', status: running ? 'True' : 'False', reason: running ? 'TestRunRunningTrue' : 'TestRunRunningFalse', lastTransitionTime: now },
        ...(stage === 'finished' || stage === 'error'
          ? [{ type: 'TeardownExecuted', status: 'True', reason: 'TeardownExecutedTrue', lastTransitionTime: now, ...(message ? { message } : {}) }]
          : []),
      ],
    };
    this.store.write(cur);
    return true;
  }

  private async run(obj: SimObject, signal: AbortSignal) {
    for (const stage of STAGES_BEFORE_RUN) {
      await this.sleep(this.opts.stepMs);
      if (signal.aborted || !this.setStage(obj, stage, false)) return;
    }
    await this.sleep(this.opts.stepMs);
    if (signal.aborted || !this.setStage(obj, 'started', true)) return;
    const spec = (obj.spec ?? {}) as {
      script?: { configMap?: { name?: string; file?: string } };
      runner?: { env?: Array<{ name: string; value?: string }> };
    };
    let outcome: { ok: boolean; message?: string };
    if (!this.opts.runner) outcome = { ok: false, message: 'the simulation runs TestRuns only with a runner (KubeSimOptions.runTestRun)' };
    else {
      const cm = spec.script?.configMap;
      const data = cm?.name ? (this.store.get('ConfigMap', obj.metadata.namespace, cm.name)?.data as Record<string, string> | undefined) : undefined;
      try {
        outcome = await this.opts.runner({
          namespace: obj.metadata.namespace,
          name: obj.metadata.name,
          spec: obj.spec ?? {},
          ...(data && cm?.file && data[cm.file] !== undefined ? { script: data[cm.file] } : {}),
          ...(spec.runner?.env?.find((e) => e.name === 'BASE_URL')?.value ? { baseUrl: spec.runner.env.find((e) => e.name === 'BASE_URL')!.value } : {}),
          ...(this.opts.serviceUrl ? { serviceUrl: this.opts.serviceUrl } : {}),
          signal,
        });
      } catch (err) {
        outcome = { ok: false, message: (err as Error).message };
      }
    }
    if (signal.aborted) return;
    this.setStage(obj, outcome.ok ? 'finished' : 'error', false, outcome.message);
  }
}
