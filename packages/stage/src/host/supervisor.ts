// Runs the service replicas and restarts one that dies after `restartDelay` (as a kubelet
// would after its back-off), on the same port so Prometheus's static targets stay valid.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { spawnChild, stopChild, type Child } from './children.ts';

export interface ReplicaSpec {
  name: string;
  port: number;
  /** Built with childEnv(): the allow-list plus what the replica needs. */
  env: Record<string, string>;
}

export interface ReplicaState {
  name: string;
  port: number;
  pid: number | undefined;
  restarts: number;
  running: boolean;
}

export class Supervisor extends EventEmitter<{ change: [] }> {
  private readonly children = new Map<string, Child | undefined>();
  private readonly restarts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(
    private readonly specs: ReplicaSpec[],
    private readonly opts: { command: string; args: string[]; cwd: string; logDir: string; restartDelayMs: number; log: (s: string) => void },
  ) {
    super();
  }

  start(): void {
    for (const s of this.specs) {
      this.restarts.set(s.name, 0);
      this.launch(s);
    }
  }

  private launch(spec: ReplicaSpec): void {
    const child = spawnChild(spec.name, this.opts.command, this.opts.args, {
      env: { ...spec.env, PORT: String(spec.port), REPLICA_NAME: spec.name },
      cwd: this.opts.cwd,
      logFile: join(this.opts.logDir, `${spec.name}.log`),
    });
    this.children.set(spec.name, child);
    this.emit('change');
    void child.exited.then(({ code, signal }) => {
      if (this.children.get(spec.name) !== child) return;
      this.children.set(spec.name, undefined);
      this.emit('change');
      if (this.stopping) return;
      this.opts.log(`${spec.name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); restarting in ${this.opts.restartDelayMs} ms`);
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.stopping) return;
        this.restarts.set(spec.name, (this.restarts.get(spec.name) ?? 0) + 1);
        this.launch(spec);
      }, this.opts.restartDelayMs);
      this.timers.add(t);
    });
  }

  list(): ReplicaState[] {
    return this.specs.map((s) => {
      const c = this.children.get(s.name);
      return { name: s.name, port: s.port, pid: c?.pid, restarts: this.restarts.get(s.name) ?? 0, running: c !== undefined };
    });
  }

  records() {
    return [...this.children.values()].filter((c): c is Child => c !== undefined).map((c) => c.record);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.children.values()].filter((c): c is Child => c !== undefined).map((c) => stopChild(c, 'SIGTERM', 4_000)));
  }
}
