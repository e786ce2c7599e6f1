// A simulated Kubernetes API server for tests (no cluster can run on these machines).
// It speaks the real REST and watch wire protocol for what the Chaos Mesh provider uses —
// create, get, list, watch (newline-delimited events from a resourceVersion), merge
// patch, delete — validates created objects against the published CRD schemas
// (422 Invalid, as a real API server), and plays two controllers: Chaos Mesh (conditions
// and container records after a delay) and a Deployment (ready replicas dip on pod-kill).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { CrdValidator } from '../../../src/faults/chaos-mesh/schema.ts';

type Obj = { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> }; spec?: Record<string, unknown>; status?: Record<string, unknown> };
type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj; rv: number };

const KINDS: Record<string, string> = { podchaos: 'PodChaos', networkchaos: 'NetworkChaos', stresschaos: 'StressChaos', schedules: 'Schedule', workflows: 'Workflow' };

export interface KubeSimOptions {
  /** Chaos Mesh "controller" delay before conditions turn AllInjected. */
  injectDelayMs?: number;
  /** How long a killed pod takes to be ready again. */
  podRestartMs?: number;
  deployments?: Array<{ namespace: string; name: string; replicas: number; labels: Record<string, string> }>;
}

export class KubeSim {
  private server: Server | undefined;
  private rv = 0;
  private readonly objects = new Map<string, Obj>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<{ match: (e: WatchEvent) => boolean; res: ServerResponse }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly validator = new CrdValidator();
  /** Every request received, for tests that must see zero calls. */
  readonly requests: Array<{ method: string; path: string }> = [];
  /** When the simulated controller applied each chaos object (ms), by name. */
  readonly appliedAt = new Map<string, number>();
  url = '';

  constructor(private readonly opts: KubeSimOptions = {}) {
    for (const d of opts.deployments ?? []) {
      this.put({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: d.name, namespace: d.namespace, labels: d.labels },
        spec: { replicas: d.replicas, selector: { matchLabels: d.labels } },
        status: { replicas: d.replicas, readyReplicas: d.replicas, availableReplicas: d.replicas },
      }, 'ADDED');
    }
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.watchers) w.res.end();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A kubeconfig pointing at this server, with the given context name. */
  writeKubeconfig(path: string, context = 'stage-sim'): string {
    writeFileSync(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // Plain HTTP on loopback: client-node accepts it only with skip-TLS-verify set.
        clusters: [{ name: 'sim', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'drillbook', user: { token: 'sim-token' } }],
        contexts: [{ name: context, context: { cluster: 'sim', user: 'drillbook' } }],
        'current-context': context,
      }),
    );
    return path;
  }

  get(kind: string, namespace: string, name: string): Obj | undefined {
    return this.objects.get(`${kind}/${namespace}/${name}`);
  }

  private later(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private put(obj: Obj, type: WatchEvent['type']): Obj {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    const key = `${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, obj);
    const ev: WatchEvent = { type, object: structuredClone(obj), rv: this.rv };
    this.history.push(ev);
    for (const w of this.watchers) if (w.match(ev)) w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
    return obj;
  }

  private status(res: ServerResponse, code: number, reason: string, message: string, causes?: Array<{ field: string; message: string }>) {
    res.writeHead(code, { 'content-type': 'application/json' }).end(
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(causes ? { details: { causes: causes.map((c) => ({ reason: 'FieldValueInvalid', ...c })) } } : {}) }),
    );
  }

  private async body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  }

  /** The Chaos Mesh controller's part: inject after a delay; pod-kill also dips the Deployment. */
  private reconcileCreate(o: Obj) {
    this.later(this.opts.injectDelayMs ?? 200, () => {
      const cur = this.get(o.kind, o.metadata.namespace, o.metadata.name);
      if (!cur) return;
      const at = Date.now();
      this.appliedAt.set(cur.metadata.name, at);
      const ts = new Date(at).toISOString();
      const paused = cur.metadata.annotations?.['experiment.chaos-mesh.org/pause'] === 'true';
      cur.status = {
        conditions: [
          { type: 'Selected', status: 'True' },
          { type: 'AllInjected', status: 'True' },
          { type: 'AllRecovered', status: 'False' },
          { type: 'Paused', status: paused ? 'True' : 'False' },
        ],
        experiment: {
          desiredPhase: 'Run',
          containerRecords: [{ id: `${cur.metadata.namespace}/pod-0`, phase: 'Injected', injectedCount: 1, recoveredCount: 0, selectorKey: '.', events: [{ type: 'Succeeded', operation: 'Apply', timestamp: ts }] }],
        },
      };
      this.put(cur, 'MODIFIED');
      if (cur.kind === 'PodChaos' && cur.spec?.action === 'pod-kill') this.dipDeployments(cur);
    });
  }

  private dipDeployments(chaos: Obj) {
    const labels = ((chaos.spec?.selector as { labelSelectors?: Record<string, string> })?.labelSelectors ?? {}) as Record<string, string>;
    for (const d of [...this.objects.values()].filter((x) => x.kind === 'Deployment')) {
      const dl = (d.metadata.labels ?? {}) as Record<string, string>;
      if (!Object.entries(labels).every(([k, v]) => dl[k] === v)) continue;
      const desired = (d.spec as { replicas: number }).replicas;
      d.status = { ...d.status, readyReplicas: desired - 1, availableReplicas: desired - 1 };
      this.put(d, 'MODIFIED');
      this.later(this.opts.podRestartMs ?? 500, () => {
        d.status = { ...d.status, readyReplicas: desired, availableReplicas: desired };
        this.put(d, 'MODIFIED');
      });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://sim');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname });
    if (req.headers.authorization !== 'Bearer sim-token') return this.status(res, 401, 'Unauthorized', 'Unauthorized');
    const m = /^\/apis\/(chaos-mesh\.org\/v1alpha1|apps\/v1)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(url.pathname);
    if (!m) return this.status(res, 404, 'NotFound', `the server could not find the requested resource ${url.pathname}`);
    const [, group, namespace, plural, name] = m as unknown as [string, string, string, string, string | undefined];
    const kind = group === 'apps/v1' ? (plural === 'deployments' ? 'Deployment' : '') : KINDS[plural];
    if (!kind) return this.status(res, 404, 'NotFound', `unknown resource ${plural}`);
    const method = req.method ?? 'GET';

    if (method === 'GET' && url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion') ?? 0);
      const field = url.searchParams.get('fieldSelector');
      const onlyName = field?.startsWith('metadata.name=') ? field.slice('metadata.name='.length) : name;
      const match = (e: WatchEvent) => e.object.kind === kind && e.object.metadata.namespace === namespace && (!onlyName || e.object.metadata.name === onlyName) && e.rv > from;
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      for (const e of this.history) if (match(e)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
      const w = { match, res };
      this.watchers.add(w);
      req.on('close', () => this.watchers.delete(w));
      return;
    }
    if (method === 'GET' && name) {
      const o = this.get(kind, namespace, name);
      if (!o) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    }
    if (method === 'GET') {
      const items = [...this.objects.values()].filter((o) => o.kind === kind && o.metadata.namespace === namespace);
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: `${kind}List`, metadata: { resourceVersion: String(this.rv) }, items }));
    }
    if (method === 'POST' && !name) {
      const obj = (await this.body(req)) as Obj;
      if (obj.metadata?.namespace && obj.metadata.namespace !== namespace) return this.status(res, 400, 'BadRequest', 'the namespace of the object does not match the namespace of the request');
      obj.metadata = { ...obj.metadata, namespace };
      const issues = this.validator.validate(obj);
      if (issues.length) return this.status(res, 422, 'Invalid', `${kind}.chaos-mesh.org "${obj.metadata.name}" is invalid`, issues.map((i) => ({ field: i.path.replace(/^\//, '').replace(/\//g, '.'), message: i.message })));
      if (this.get(kind, namespace, obj.metadata.name)) return this.status(res, 409, 'AlreadyExists', `${plural} "${obj.metadata.name}" already exists`);
      if (url.searchParams.get('dryRun') === 'All') return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
      obj.metadata.uid = `uid-${this.rv + 1}`;
      obj.metadata.creationTimestamp = new Date().toISOString();
      this.put(obj, 'ADDED');
      this.reconcileCreate(obj);
      return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
    }
    if (method === 'PATCH' && name) {
      const o = this.get(kind, namespace, name);
      if (!o) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
      const ct = String(req.headers['content-type'] ?? '');
      if (!ct.includes('merge-patch')) return this.status(res, 415, 'UnsupportedMediaType', `this simulation accepts application/merge-patch+json, got ${ct}`);
      const patch = (await this.body(req)) as { metadata?: { annotations?: Record<string, string | null> } };
      const annotations = { ...(o.metadata.annotations ?? {}) };
      for (const [k, v] of Object.entries(patch.metadata?.annotations ?? {})) if (v === null) delete annotations[k];
      else annotations[k] = v;
      o.metadata.annotations = annotations;
      const conditions = (o.status?.conditions as Array<{ type: string; status: string }> | undefined) ?? [];
      for (const c of conditions) if (c.type === 'Paused') c.status = annotations['experiment.chaos-mesh.org/pause'] === 'true' ? 'True' : 'False';
      this.put(o, 'MODIFIED');
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    }
    if (method === 'DELETE' && name) {
      const o = this.get(kind, namespace, name);
      if (!o) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
      // Recover, as the Chaos Mesh controller does on deletion, then remove.
      const records = ((o.status?.experiment as { containerRecords?: Array<{ events: unknown[]; recoveredCount: number; phase: string }> })?.containerRecords ?? []);
      for (const r of records) {
        r.events.push({ type: 'Succeeded', operation: 'Recover', timestamp: new Date().toISOString() });
        r.recoveredCount++;
        r.phase = 'Not Injected';
      }
      this.put(o, 'MODIFIED');
      this.later(50, () => this.put(o, 'DELETED'));
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind: plural } }));
    }
    return this.status(res, 405, 'MethodNotAllowed', `${method} is not supported here`);
  }
}
