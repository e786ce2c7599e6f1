// The simulation's Job controller and kubelet in one: a Job's pod runs as a local process. Its
// image stands for the runner image `drill schedule --emit k8s` describes — this repository's
// `drill` bin, run in a directory that plays the image's WORKDIR (the project's entries linked in).
// Each volume is materialized under a private pod directory at its mount path: a Secret as 0600
// files, a PersistentVolumeClaim as a directory that outlives the pod, an emptyDir as an empty
// directory, a projected service-account token (issued here, checked by rbac.ts) with the CA the
// in-cluster client trusts. Env values and args naming a mount path are rewritten to the pod
// directory. The Job's status follows the process's exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { childEnv } from '../proc.ts';
import { privateDir, randomSecret } from '../secrets.ts';
import type { ServiceAccountRef } from './rbac.ts';
import type { ObjectStore, SimObject } from './store.ts';

export interface JobRunnerOptions {
  /** The image's entrypoint as a local command, e.g. [node, packages/harness/bin/drill.js]. */
  entrypoint: string[];
  /** The directory whose entries the image's WORKDIR holds (the team's project). */
  imageDir: string;
  /** The image's WORKDIR (default /app). */
  workdir?: string;
  /** Where pod directories and claim directories live. */
  stateDir: string;
}

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

interface Volume {
  name: string;
  emptyDir?: object;
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  persistentVolumeClaim?: { claimName: string };
  projected?: {
    sources: Array<{
      serviceAccountToken?: { path: string };
      configMap?: { name: string; items?: Array<{ key: string; path: string }> };
      downwardAPI?: { items: Array<{ path: string; fieldRef: { fieldPath: string } }> };
    }>;
  };
}

interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  volumes?: Volume[];
}

const MAX_LOG = 256 << 10;

export class JobController {
  /** token → the service account it was issued to (while its pod runs). */
  readonly tokens = new Map<string, ServiceAccountRef>();
  private readonly running = new Map<string, ChildProcess>();
  private readonly logs = new Map<string, string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: JobRunnerOptions,
    /** What the pod's in-cluster client reaches: KUBERNETES_SERVICE_HOST/PORT and the CA it trusts. */
    private readonly apiServer: () => { host: string; port: string; caPem: string },
    private readonly log: (line: string) => void = () => {},
  ) {}

  handles(kind: string): boolean {
    return kind === 'Job';
  }

  /** The directory a claim's data lives in (created on first use). */
  claimDir(namespace: string, name: string): string {
    const dir = join(this.opts.stateDir, 'claims', namespace, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /** The pod's output (stdout and stderr, the last 256 KiB). */
  logOf(namespace: string, name: string): string {
    return this.logs.get(`${namespace}/${name}`) ?? '';
  }

  created(job: SimObject): void {
    void this.run(job).catch((err: unknown) => this.finish(job, false, (err as Error).message));
  }

  stop(): void {
    for (const p of this.running.values()) p.kill('SIGTERM');
  }

  private setStatus(job: SimObject, status: Record<string, unknown>) {
    const current = this.store.get('Job', job.metadata.namespace, job.metadata.name);
    if (current) this.store.write({ ...current, status: { ...current.status, ...status } });
  }

  private finish(job: SimObject, ok: boolean, message: string) {
    const now = new Date().toISOString();
    this.log(`job ${job.metadata.namespace}/${job.metadata.name}: ${ok ? 'succeeded' : 'failed'} (${message})`);
    this.setStatus(job, {
      active: 0,
      ...(ok ? { succeeded: 1, completionTime: now } : { failed: 1 }),
      conditions: [{ type: ok ? 'Complete' : 'Failed', status: 'True', lastTransitionTime: now, reason: ok ? 'Completed' : 'BackoffLimitExceeded', message }],
    });
  }

  private async run(job: SimObject): Promise<void> {
    const namespace = job.metadata.namespace;
    const template = (job.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
    if (!template?.containers?.length) return this.finish(job, false, 'the Job has no pod template with a container');
    const container = template.containers[0]!;
    if (container.command) return this.finish(job, false, "the simulation runs the image's entrypoint only (command is set)");
    const account = template.serviceAccountName ?? 'default';
    if (!this.store.get('ServiceAccount', namespace, account)) return this.finish(job, false, `serviceaccount "${account}" not found`);
    this.setStatus(job, { active: 1, startTime: new Date().toISOString() });

    const podRoot = mkdtempSync(join(privateDir(this.opts.stateDir), 'pod-'));
    const token = randomSecret();
    const workdir = this.opts.workdir ?? '/app';
    try {
      const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => a.mountPath.length - b.mountPath.length);
      for (const m of mounts) {
        const volume = (template.volumes ?? []).find((v) => v.name === m.name);
        if (!volume) return this.finish(job, false, `volumeMount ${m.name} names no volume`);
        this.materialize(volume, join(podRoot, m.mountPath), namespace, { token, account });
      }
      // The image's WORKDIR: the project's entries, except where a volume is mounted.
      const wd = join(podRoot, workdir);
      mkdirSync(wd, { recursive: true });
      for (const entry of readdirSync(this.opts.imageDir)) if (!existsSync(join(wd, entry))) symlinkSync(join(this.opts.imageDir, entry), join(wd, entry));

      const inPod = (value: string) =>
        [workdir, ...mounts.map((m) => m.mountPath)].some((p) => value === p || value.startsWith(`${p}/`)) ? join(podRoot, value) : value;
      const api = this.apiServer();
      const env = childEnv({
        ...Object.fromEntries((container.env ?? []).map((e) => [e.name, inPod(e.value ?? '')])),
        KUBERNETES_SERVICE_HOST: api.host,
        KUBERNETES_SERVICE_PORT: api.port,
      });
      this.tokens.set(token, { namespace, name: account });
      const [cmd, ...pre] = this.opts.entrypoint;
      const child = spawn(cmd!, [...pre, ...(container.args ?? []).map(inPod)], { cwd: wd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const key = `${namespace}/${job.metadata.name}`;
      this.running.set(key, child);
      const append = (b: Buffer) => this.logs.set(key, (this.logs.get(key) ?? '').concat(b.toString('utf8')).slice(-MAX_LOG));
      child.stdout.on('data', append);
      child.stderr.on('data', append);
      const code = await new Promise<number>((resolve) => {
        child.on('error', (err) => {
          append(Buffer.from(`spawn failed: ${err.message}\n`));
          resolve(127);
        });
        child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
      });
      this.running.delete(key);
      this.finish(job, code === 0, `exit code ${code}`);
    } finally {
      // The pod is gone: its token no longer authenticates, its Secret files are removed.
      this.tokens.delete(token);
      rmSync(podRoot, { recursive: true, force: true });
    }
  }

  private materialize(volume: Volume, at: string, namespace: string, sa: { token: string; account: string }) {
    const files = (entries: Array<[string, string | Buffer]>) => {
      mkdirSync(at, { recursive: true, mode: 0o700 });
      for (const [path, content] of entries) {
        mkdirSync(dirname(join(at, path)), { recursive: true, mode: 0o700 });
        writeFileSync(join(at, path), content, { mode: 0o600 });
      }
    };
    if (volume.emptyDir) return void mkdirSync(at, { recursive: true, mode: 0o700 });
    if (volume.persistentVolumeClaim) {
      const claim = volume.persistentVolumeClaim.claimName;
      if (!this.store.get('PersistentVolumeClaim', namespace, claim)) throw new Error(`persistentvolumeclaim "${claim}" not found`);
      mkdirSync(dirname(at), { recursive: true, mode: 0o700 });
      return void symlinkSync(this.claimDir(namespace, claim), at);
    }
    if (volume.secret) {
      const secret = this.store.get('Secret', namespace, volume.secret.secretName);
      if (!secret) throw new Error(`secret "${volume.secret.secretName}" not found`);
      // stringData is written as data by a real API server; this store keeps what was sent.
      const data: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>)) data[k] = Buffer.from(v, 'base64');
      for (const [k, v] of Object.entries((secret.stringData ?? {}) as Record<string, string>)) data[k] = Buffer.from(v, 'utf8');
      const items = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const i of items) if (!data[i.key]) throw new Error(`secret "${volume.secret.secretName}" has no key "${i.key}"`);
      return files(items.map((i) => [i.path, data[i.key]!]));
    }
    if (volume.projected) {
      const out: Array<[string, string]> = [];
      for (const s of volume.projected.sources) {
        if (s.serviceAccountToken) out.push([s.serviceAccountToken.path, sa.token]);
        // Every namespace has kube-root-ca.crt: the CA of the API server's certificate.
        if (s.configMap?.name === 'kube-root-ca.crt')
          for (const i of s.configMap.items ?? [{ key: 'ca.crt', path: 'ca.crt' }]) out.push([i.path, this.apiServer().caPem]);
        for (const i of s.downwardAPI?.items ?? []) if (i.fieldRef.fieldPath === 'metadata.namespace') out.push([i.path, namespace]);
      }
      return files(out);
    }
    throw new Error(`volume ${volume.name}: only emptyDir, secret, persistentVolumeClaim and projected volumes are simulated`);
  }
}
