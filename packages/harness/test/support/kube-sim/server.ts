// A simulated Kubernetes API server for tests (no cluster can run on these machines).
// A real HTTP server on 127.0.0.1 speaking the Kubernetes REST and watch wire protocol for
// what the Chaos Mesh provider uses: chaos-mesh.org/v1alpha1 chaos kinds, Schedules and
// Workflows (create, get, list, watch from a resourceVersion, merge and JSON patch, delete,
// the /status subresource), apps/v1 Deployments (get, list, watch) and core/v1 Events
// (list). Created and patched objects are validated against the published CRD schemas
// (422 Invalid with causes, as a real API server). The controllers it plays live in
// controllers.ts; the storage and resourceVersions in store.ts.
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { CrdValidator } from '../../../src/faults/chaos-mesh/schema.ts';
import { CHAOS_MESH_CRDS } from '../reference.ts';
import { ChaosMeshController } from './controllers.ts';
import { jsonPatch, mergePatch, type Json, type JsonPatchOp } from './patch.ts';
import { ObjectStore, matches, parseSelector, type Selection, type SimObject, type StoredEvent } from './store.ts';

export type { SimObject } from './store.ts';

export interface KubeSimOptions {
  /** Chaos Mesh controller delay before a fault is reported applied (default 200 ms). */
  injectDelayMs?: number;
  /** Delay between a delete request and the object's removal (default 50 ms). */
  deleteDelayMs?: number;
  /** How long a killed pod takes to be ready again (default 500 ms). */
  podRestartMs?: number;
  /** Deployments that exist from the start; their pods are what chaos selectors select. */
  deployments?: Array<{ namespace: string; name: string; replicas: number; labels: Record<string, string> }>;
  /** Bearer token the server accepts (default `sim-token`). */
  token?: string;
}

/** A resource the server serves: URL group/version and plural → kind. */
const RESOURCES: Record<string, { kind: string; writable: boolean; validated: boolean }> = {
  'chaos-mesh.org/v1alpha1/podchaos': { kind: 'PodChaos', writable: true, validated: true },
  'chaos-mesh.org/v1alpha1/networkchaos': { kind: 'NetworkChaos', writable: true, validated: true },
  'chaos-mesh.org/v1alpha1/stresschaos': { kind: 'StressChaos', writable: true, validated: true },
  'chaos-mesh.org/v1alpha1/schedules': { kind: 'Schedule', writable: true, validated: true },
  'chaos-mesh.org/v1alpha1/workflows': { kind: 'Workflow', writable: true, validated: true },
  'apps/v1/deployments': { kind: 'Deployment', writable: false, validated: false },
  'v1/events': { kind: 'Event', writable: false, validated: false },
};

const PATH = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/;

interface Route {
  resource: { kind: string; writable: boolean; validated: boolean };
  plural: string;
  namespace: string;
  name?: string;
  subresource?: 'status';
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly causes?: Array<{ field: string; message: string }>,
  ) {
    super(message);
  }
}

export class KubeSim {
  readonly store = new ObjectStore();
  readonly controller: ChaosMeshController;
  /** Every request received, for tests that must see zero calls. */
  readonly requests: Array<{ method: string; path: string; query: string }> = [];
  url = '';
  private server: Server | undefined;
  // Objects are checked against the published CRDs where this machine has them (a clone on its own does not).
  private readonly validator = CrdValidator.ifPresent(CHAOS_MESH_CRDS);
  private readonly openWatches = new Set<ServerResponse>();
  private readonly token: string;
  private uid = 0;

  constructor(opts: KubeSimOptions = {}) {
    this.token = opts.token ?? 'sim-token';
    this.controller = new ChaosMeshController(this.store, {
      injectDelayMs: opts.injectDelayMs ?? 200,
      deleteDelayMs: opts.deleteDelayMs ?? 50,
      podRestartMs: opts.podRestartMs ?? 500,
    });
    for (const d of opts.deployments ?? [])
      this.store.write({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: d.name, namespace: d.namespace, labels: d.labels, uid: this.nextUid(), generation: 1 },
        spec: { replicas: d.replicas, selector: { matchLabels: d.labels } },
        status: { replicas: d.replicas, readyReplicas: d.replicas, availableReplicas: d.replicas },
      });
  }

  /** When the controller applied a chaos object (wall ms). */
  appliedAt(namespace: string, name: string): number | undefined {
    return this.controller.appliedAt.get(`${namespace}/${name}`);
  }

  get(kind: string, namespace: string, name: string): SimObject | undefined {
    return this.store.get(kind, namespace, name);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.controller.stop();
    for (const w of this.openWatches) w.end();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Writes a kubeconfig pointing at this server with one context of the given name. */
  writeKubeconfig(path: string, context = 'stage-sim'): string {
    writeFileSync(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // Plain HTTP on loopback; the flag is harmless there and keeps client-node from insisting on a CA.
        clusters: [{ name: 'sim', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'drillbook', user: { token: this.token } }],
        contexts: [{ name: context, context: { cluster: 'sim', user: 'drillbook' } }],
        'current-context': context,
      }),
    );
    return path;
  }

  private nextUid() {
    return `00000000-0000-4000-8000-${String(++this.uid).padStart(12, '0')}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query: url.search });
    try {
      if (req.headers.authorization !== `Bearer ${this.token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const route = this.route(url.pathname);
      if (method === 'GET' && (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1')) return this.watch(route, url, req, res);
      const { code, body } = await this.dispatch(method, route, url, req);
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message);
      res.writeHead(e.code, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: e.message,
          reason: e.reason,
          code: e.code,
          ...(e.causes ? { details: { causes: e.causes.map((c) => ({ reason: 'FieldValueInvalid', ...c })) } } : {}),
        }),
      );
    }
  }

  private route(pathname: string): Route {
    const m = PATH.exec(pathname);
    const groupVersion = m?.[1] ?? m?.[2];
    const resource = m && RESOURCES[`${groupVersion}/${m[4]}`];
    if (!m || !resource) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${pathname})`);
    return { resource, plural: m[4]!, namespace: m[3]!, name: m[5], subresource: m[6] as 'status' | undefined };
  }

  private selection(route: Route, url: URL): Selection {
    const fields = parseSelector(url.searchParams.get('fieldSelector')) ?? {};
    const { 'metadata.name': byName, 'metadata.namespace': _ns, ...others } = fields;
    return {
      kind: route.resource.kind,
      namespace: route.namespace,
      name: route.name ?? byName,
      labels: parseSelector(url.searchParams.get('labelSelector')),
      fields: others,
    };
  }

  private async dispatch(method: string, route: Route, url: URL, req: IncomingMessage): Promise<{ code: number; body: unknown }> {
    const { kind } = route.resource;
    if (method === 'GET' && !route.name) {
      return {
        code: 200,
        body: {
          apiVersion: 'v1',
          kind: `${kind}List`,
          metadata: { resourceVersion: String(this.store.resourceVersion) },
          items: this.store.list(this.selection(route, url)),
        },
      };
    }
    if (!route.resource.writable && method !== 'GET')
      throw new ApiError(405, 'MethodNotAllowed', `${method} on ${route.plural} is not served by this simulation`);
    if (method === 'POST' && !route.name)
      return { code: 201, body: this.create(route, (await readJson(req)) as SimObject, url.searchParams.get('dryRun') === 'All') };
    if (!route.name) throw new ApiError(405, 'MethodNotAllowed', `${method} on a collection is not supported`);

    const current = this.store.get(kind, route.namespace, route.name);
    if (!current) throw new ApiError(404, 'NotFound', `${route.plural} "${route.name}" not found`);
    switch (method) {
      case 'GET':
        return { code: 200, body: current };
      case 'PATCH':
        return { code: 200, body: this.patch(route, current, String(req.headers['content-type'] ?? ''), await readJson(req)) };
      case 'PUT': {
        if (route.subresource !== 'status') throw new ApiError(405, 'MethodNotAllowed', 'only PUT on /status is supported');
        const body = (await readJson(req)) as SimObject;
        const next = { ...current, status: body.status };
        this.validate(next, route);
        return { code: 200, body: this.store.write(next) };
      }
      case 'DELETE':
        return { code: 200, body: this.delete(current) };
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  private validate(obj: SimObject, route: Route) {
    if (!route.resource.validated) return;
    const issues = this.validator?.validate(obj) ?? [];
    if (issues.length)
      throw new ApiError(
        422,
        'Invalid',
        `${obj.kind}.chaos-mesh.org "${obj.metadata?.name}" is invalid`,
        issues.map((i) => ({ field: i.path.replace(/^\//, '').replace(/\//g, '.'), message: i.message })),
      );
  }

  private create(route: Route, obj: SimObject, dryRun: boolean): SimObject {
    if (obj.metadata?.namespace && obj.metadata.namespace !== route.namespace)
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    if (obj.kind !== route.resource.kind) throw new ApiError(400, 'BadRequest', `kind ${obj.kind} sent to ${route.plural}`);
    obj.metadata = { ...obj.metadata, namespace: route.namespace };
    this.validate(obj, route);
    if (this.store.get(obj.kind, route.namespace, obj.metadata.name))
      throw new ApiError(409, 'AlreadyExists', `${route.plural}.chaos-mesh.org "${obj.metadata.name}" already exists`);
    const admitted: SimObject = { ...obj, metadata: { ...obj.metadata, uid: this.nextUid(), generation: 1, creationTimestamp: new Date().toISOString() } };
    if (dryRun) return admitted; // validated and admitted, never stored
    const stored = this.store.write(admitted);
    if (this.controller.handles(stored.kind)) this.controller.created(stored);
    return stored;
  }

  private patch(route: Route, current: SimObject, contentType: string, body: unknown): SimObject {
    let patched: SimObject;
    try {
      if (contentType.startsWith('application/merge-patch+json')) patched = mergePatch(current as unknown as Json, body as Json) as unknown as SimObject;
      else if (contentType.startsWith('application/json-patch+json'))
        patched = jsonPatch(current as unknown as Json, body as JsonPatchOp[]) as unknown as SimObject;
      else
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${contentType})`,
        );
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(422, 'Invalid', `the patch could not be applied: ${(err as Error).message}`);
    }
    // The /status subresource changes status only; the main resource ignores status changes.
    const next: SimObject =
      route.subresource === 'status'
        ? { ...current, status: patched.status }
        : {
            ...patched,
            status: current.status,
            metadata: { ...patched.metadata, name: current.metadata.name, namespace: current.metadata.namespace, uid: current.metadata.uid },
          };
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    this.validate(next, route);
    const stored = this.store.write(next);
    if (this.controller.handles(stored.kind)) this.controller.updated(current, stored);
    return stored;
  }

  private delete(current: SimObject): SimObject {
    // Foreground deletion of an object with a finalizer answers with the object, marked for deletion.
    if (!current.metadata.deletionTimestamp) {
      if (this.controller.handles(current.kind)) this.controller.deleting(current);
      else this.store.remove(current.kind, current.metadata.namespace, current.metadata.name);
    }
    return this.store.get(current.kind, current.metadata.namespace, current.metadata.name) ?? current;
  }

  /**
   * A watch: newline-delimited `{type, object}` events. From a resourceVersion it replays
   * what happened after it; without one (or "0") it starts with ADDED for what exists now.
   */
  private watch(route: Route, url: URL, req: IncomingMessage, res: ServerResponse) {
    const sel = this.selection(route, url);
    const rv = url.searchParams.get('resourceVersion');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const send = (type: string, object: SimObject) => res.write(`${JSON.stringify({ type, object })}\n`);
    const backlog: StoredEvent[] =
      rv && rv !== '0' ? this.store.since(Number(rv), sel) : this.store.list(sel).map((object) => ({ type: 'ADDED', object, resourceVersion: 0 }));
    for (const e of backlog) send(e.type, e.object);
    const unsubscribe = this.store.subscribe((e) => {
      if (matches(e.object, sel)) send(e.type, e.object);
    });
    this.openWatches.add(res);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const close = () => {
      clearTimeout(timer);
      unsubscribe();
      this.openWatches.delete(res);
    };
    req.on('close', close);
    res.on('close', close);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (!chunks.length) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `request body is not JSON: ${(err as Error).message}`);
  }
}
