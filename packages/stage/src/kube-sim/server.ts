// A simulated Kubernetes API server (no cluster can run on these machines): a real HTTP
// server on 127.0.0.1 speaking the REST and watch wire protocol client-node uses — list and
// watch from a resourceVersion, JSON merge and JSON patch, /status, Events, server-side dry
// run, discovery, CRDs, SelfSubjectAccessReview and the service/pod proxy subresources.
// Two modes:
//   fake   `deployments:` — Deployments exist only as objects (unit tests of the provider)
//   stage  `stage:` — Pods, Deployment, StatefulSet and Services reflect the local stage's real
//          processes (stage-mirror.ts) and Chaos Mesh objects act on them (stage-backend.ts)
// Created and patched objects are checked by the injected `validate` (the published CRD
// schemas, where the caller has them): 422 Invalid with causes, as a real API server.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { childEnv } from '../proc.ts';
import { basicAuthHeader, privateDir, randomSecret, sameSecret, writePrivateFile } from '../secrets.ts';
import { JobController, type JobRunnerOptions } from './jobs.ts';
import { authorize, verbOf, type RequestAttributes, type ServiceAccountRef } from './rbac.ts';
import { ChaosMeshController, type ChaosBackend } from './controllers.ts';
import { FakeDeploymentBackend, type FakeDeployment } from './fake-backend.ts';
import { TestRunController, type TestRunRunner } from './k6-controller.ts';
import { jsonPatch, mergePatch, type Json, type JsonPatchOp } from './patch.ts';
import { forward, statusBody, type ProxyBackend } from './proxy.ts';
import { ACCESS_REVIEW, crdObjects, groupList, groupVersion, resourceList, servedResources, type CrdSet, type ResourceDef } from './resources.ts';
import { StageBackend } from './stage-backend.ts';
import { StageControl, type SimStageHandle } from './stage-control.ts';
import { APP_NAMESPACE, DB_APP, SERVICES, StageMirror } from './stage-mirror.ts';
import { matches, parseLabelSelector, parseSelector, ResourceVersionTooOld, ObjectStore, type Selection, type SimObject, type StoredEvent } from './store.ts';
import { findStressNg } from './stressor.ts';
import { SimTempo } from './tempo.ts';

export type { SimObject, StoredEvent } from './store.ts';
export type { SimStageHandle } from './stage-control.ts';
export type { FakeDeployment } from './fake-backend.ts';
export type { TestRunRequest, TestRunRunner } from './k6-controller.ts';
export type { JobRunnerOptions } from './jobs.ts';

export const SIM_VERSION = { major: '1', minor: '31', gitVersion: 'v1.31.0+drillbook-sim' };

export interface AccessRule {
  verb: string;
  group?: string;
  resource: string;
  namespace?: string;
}

export interface KubeSimOptions {
  /** Chaos Mesh controller delay before a fault is carried out (default 200 ms). */
  injectDelayMs?: number;
  /** Delay between a delete request and the object's removal (default 50 ms). */
  deleteDelayMs?: number;
  /** Fake mode: how long a killed pod takes to be ready again (default 500 ms). Stage mode: how long a killed database stays down (default 1000 ms). */
  podRestartMs?: number;
  /** Fake mode: Deployments that exist from the start; their pods are what chaos selectors select. */
  deployments?: FakeDeployment[];
  /** Stage mode: what `startStage()` returned. Objects reflect its processes; faults act on them. */
  stage?: SimStageHandle;
  /** Stage mode: the Tempo the stage exports to (started by the caller; stopped with the sim). One of its own otherwise. */
  tempo?: SimTempo;
  /** Bearer token the server accepts (default: a random one, see `token`). */
  token?: string;
  /** Checks a created or patched chaos object; issues make a 422 Invalid. */
  validate?: (obj: SimObject) => Array<{ path: string; message: string }>;
  /** Which CRD sets are installed (default both): a missing set's paths answer 404 and it is not listed. */
  crds?: { chaosMesh?: boolean; k6Operator?: boolean };
  /** SelfSubjectAccessReviews these match are answered `allowed: false`. */
  deny?: AccessRule[];
  /** stress-ng's path; null: as if it were not installed. Default: found on PATH. */
  stressNg?: string | null;
  /** Stage mode: how often replicas (default 200 ms) and components (default 500 ms) are polled. */
  pollIntervalMs?: number;
  statusIntervalMs?: number;
  /** Runs a k6-operator TestRun's load (e.g. the harness's embedded runner); without one a TestRun ends in `error`. */
  runTestRun?: TestRunRunner;
  /**
   * Runs Jobs as local processes (jobs.ts) with in-cluster credentials: a service-account token
   * checked against Roles (rbac.ts) and an HTTPS address with a self-signed CA (openssl). Off by default.
   */
  jobs?: JobRunnerOptions;
  /** Largest body the proxy subresources carry each way (default 16 MiB). */
  maxProxyBytes?: number;
  log?: (line: string) => void;
}

interface Route {
  resource: ResourceDef;
  namespace?: string;
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

const MAX_BODY = 3 << 20; // the API server's own request limit
const BOOKMARK_EVERY_MS = 10_000;
const MAX_RECORDED = 100_000;
const PROXY_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/(services|pods)\/([^/]+)\/proxy(\/[^?]*)?(\?.*)?$/;

/** Hides the empty namespace of cluster-scoped objects, as the API server shows them. */
function present(obj: SimObject): SimObject {
  if (obj.metadata.namespace === '') delete (obj.metadata as { namespace?: string }).namespace;
  return obj;
}

export class KubeSim {
  readonly store = new ObjectStore();
  readonly controller: ChaosMeshController;
  readonly testRuns: TestRunController;
  /** Present with the `jobs` option. */
  readonly jobs: JobController | undefined;
  /** The HTTPS address in-cluster clients (Jobs' pods) use; '' without the `jobs` option. */
  inClusterUrl = '';
  private tls: { server: Server; caPem: string } | undefined;
  /** Every request received, for tests that must see zero calls. */
  readonly requests: Array<{ method: string; path: string; query: string }> = [];
  /** Every request ever received (requests keeps the latest 100 000). */
  requestCount = 0;
  /** Bearer token of this server. */
  readonly token: string;
  url = '';
  private server: Server | undefined;
  private readonly openWatches = new Set<ServerResponse>();
  private readonly installed: Record<CrdSet, boolean>;
  private readonly mirror: StageMirror | undefined;
  private readonly tempo: SimTempo | undefined;
  private uid = 0;

  constructor(private readonly opts: KubeSimOptions = {}) {
    this.token = opts.token ?? randomSecret();
    this.installed = { chaosMesh: opts.crds?.chaosMesh ?? true, k6Operator: opts.crds?.k6Operator ?? true };
    const timing = { injectDelayMs: opts.injectDelayMs ?? 200, deleteDelayMs: opts.deleteDelayMs ?? 50 };
    let backend: ChaosBackend;
    if (opts.stage) {
      const control = new StageControl(opts.stage);
      this.mirror = new StageMirror(this.store, control, {
        replicaIntervalMs: opts.pollIntervalMs ?? 200,
        statusIntervalMs: opts.statusIntervalMs ?? 500,
        uid: () => this.nextUid(),
        log: opts.log ?? (() => {}),
        seed: opts.stage.urls.control,
        databaseUrl: opts.stage.urls.databaseViaProxy,
      });
      this.tempo = opts.tempo ?? new SimTempo();
      backend = new StageBackend(this.store, this.mirror, control, {
        stressNg: opts.stressNg === null ? undefined : (opts.stressNg ?? findStressNg()),
        dbRestartMs: opts.podRestartMs ?? 1_000,
      });
    } else {
      const fake = new FakeDeploymentBackend(this.store, opts.podRestartMs ?? 500);
      fake.seed(opts.deployments ?? [], () => this.nextUid());
      backend = fake;
    }
    this.controller = new ChaosMeshController(this.store, backend, timing);
    this.testRuns = new TestRunController(this.store, {
      stepMs: timing.injectDelayMs,
      ...(opts.runTestRun ? { runner: opts.runTestRun } : {}),
      ...(opts.stage ? { serviceUrl: opts.stage.urls.service } : {}),
    });
    this.jobs = opts.jobs
      ? new JobController(
          this.store,
          opts.jobs,
          () => ({ host: '127.0.0.1', port: new URL(this.inClusterUrl).port, caPem: this.tls!.caPem }),
          opts.log ?? (() => {}),
        )
      : undefined;
    for (const crd of crdObjects(this.installed, new Date().toISOString())) this.store.write({ ...crd, metadata: { ...crd.metadata, uid: this.nextUid() } });
  }

  /** When the controller applied a chaos object (wall ms). */
  appliedAt(namespace: string, name: string): number | undefined {
    return this.controller.appliedAt.get(`${namespace}/${name}`);
  }

  get(kind: string, namespace: string, name: string): SimObject | undefined {
    return this.store.get(kind, namespace, name);
  }

  async start(): Promise<string> {
    if (this.tempo && !this.tempo.url) await this.tempo.start();
    await this.mirror?.start();
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    if (this.opts.jobs) {
      const { key, cert } = selfSignedCertificate(privateDir(join(this.opts.jobs.stateDir, 'tls')));
      const server = createTlsServer({ key, cert }, (req, res) => void this.handle(req, res)) as unknown as Server;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      this.tls = { server, caPem: cert };
      this.inClusterUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    return this.url;
  }

  /** Undoes every fault still injected (SIGCONT, proxies cleared, stressors killed), then closes. */
  async stop(): Promise<void> {
    this.mirror?.stop();
    this.testRuns.stop();
    this.jobs?.stop();
    await this.controller.stop();
    for (const w of this.openWatches) w.end();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.tls?.server.closeAllConnections();
    await new Promise<void>((r) => (this.tls ? this.tls.server.close(() => r()) : r()));
    await this.tempo?.stop();
  }

  /** Writes a kubeconfig (0600) pointing at this server: one context, its namespace, the bearer token. */
  writeKubeconfig(path: string, context = 'stage-sim', namespace?: string): string {
    // JSON is YAML: every kubeconfig loader reads it.
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP on loopback; the flag is harmless there and keeps client-node from insisting on a CA.
      clusters: [{ name: 'sim', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'drillbook', user: { token: this.token } }],
      contexts: [{ name: context, context: { cluster: 'sim', user: 'drillbook', ...(namespace ? { namespace } : {}) } }],
      'current-context': context,
    };
    writePrivateFile(path, JSON.stringify(config, null, 2) + '\n');
    return path;
  }

  private nextUid() {
    return `00000000-0000-4000-8000-${String(++this.uid).padStart(12, '0')}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const raw = req.url ?? '/';
    const url = new URL(raw, 'http://sim');
    const method = req.method ?? 'GET';
    this.requestCount++;
    this.requests.push({ method, path: url.pathname, query: url.search });
    // Bounded for long bakes: the newest half is kept; requestCount keeps counting.
    if (this.requests.length > MAX_RECORDED) this.requests.splice(0, MAX_RECORDED / 2);
    try {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      // The admin token of the kubeconfig, or a token issued to a running Job's pod (RBAC applies).
      const account = sameSecret(bearer, this.token) ? undefined : this.jobs?.tokens.get(bearer);
      if (!account && !sameSecret(bearer, this.token)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const proxied = PROXY_PATH.exec(raw);
      if (proxied) {
        if (account)
          this.authorize(account, {
            verb: verbOf(method, true, false),
            group: '',
            resource: `${proxied[2]}/proxy`,
            namespace: decodeURIComponent(proxied[1]!),
            name: decodeURIComponent(proxied[3]!),
          });
        return await this.proxy(req, res, proxied);
      }
      if (method === 'GET') {
        const doc = this.discovery(url.pathname);
        if (doc) return send(res, 200, doc);
      }
      if (url.pathname === `/apis/${ACCESS_REVIEW.group}/${ACCESS_REVIEW.version}/${ACCESS_REVIEW.plural}`) {
        if (method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on ${ACCESS_REVIEW.plural}`);
        return send(res, 201, this.accessReview((await readJson(req)) as SimObject, account));
      }
      const route = this.route(url.pathname);
      const watching = method === 'GET' && (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1');
      if (account)
        this.authorize(account, {
          verb: verbOf(method, route.name !== undefined, watching),
          group: route.resource.group,
          resource: route.subresource ? `${route.resource.plural}/${route.subresource}` : route.resource.plural,
          namespace: route.namespace ?? '',
          ...(route.name !== undefined ? { name: route.name } : {}),
        });
      if (watching) return this.watch(route, url, req, res);
      const { code, body } = await this.dispatch(method, route, url, req);
      send(res, code, body);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message);
      if (res.headersSent) return void res.destroy();
      send(res, e.code, {
        ...statusBody(e.code, e.reason, e.message),
        ...(e.causes ? { details: { causes: e.causes.map((c) => ({ reason: 'FieldValueInvalid', ...c })) } } : {}),
      });
    }
  }

  private discovery(path: string): object | undefined {
    if (path === '/version')
      return { ...SIM_VERSION, gitCommit: 'drillbook', gitTreeState: 'clean', goVersion: 'go1.22', compiler: 'gc', platform: 'linux/amd64' };
    if (path === '/api')
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: new URL(this.url).host }] };
    if (path === '/apis') return groupList(this.installed);
    if (path === '/api/v1') return resourceList('', 'v1', this.installed);
    const m = /^\/apis\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (m) {
      const list = resourceList(m[1]!, m[2]!, this.installed);
      if (!list) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`);
      return list;
    }
    return undefined;
  }

  /** 403 Forbidden, as the API server words it, for what the account's Roles do not grant. */
  private authorize(account: ServiceAccountRef, attrs: RequestAttributes) {
    const decision = authorize(this.store, account, attrs);
    if (!decision.allowed) {
      const what = attrs.name ? `${attrs.resource} "${attrs.name}"` : attrs.resource;
      throw new ApiError(403, 'Forbidden', `${what} is forbidden: ${decision.message}`);
    }
  }

  /** A service account's review follows its Roles; the admin's is allowed unless a `deny` rule matches (verb, resource, and group and namespace where the rule names them). */
  private accessReview(body: SimObject, account?: ServiceAccountRef): object {
    const attrs = ((body?.spec as { resourceAttributes?: Record<string, string> } | undefined)?.resourceAttributes ?? {}) as Record<string, string | undefined>;
    if (account) {
      const decision = authorize(this.store, account, {
        verb: attrs.verb ?? '',
        group: attrs.group ?? '',
        resource: attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : (attrs.resource ?? ''),
        namespace: attrs.namespace ?? '',
        ...(attrs.name ? { name: attrs.name } : {}),
      });
      return {
        apiVersion: `${ACCESS_REVIEW.group}/${ACCESS_REVIEW.version}`,
        kind: ACCESS_REVIEW.kind,
        metadata: { creationTimestamp: null },
        spec: body?.spec ?? {},
        status: decision.allowed ? { allowed: true, reason: 'RBAC: allowed by a RoleBinding' } : { allowed: false, reason: decision.message },
      };
    }
    const rule = (this.opts.deny ?? []).find(
      (d) =>
        (d.verb === '*' || d.verb === attrs.verb) &&
        (d.resource === '*' || d.resource === attrs.resource) &&
        (d.group === undefined || d.group === (attrs.group ?? '')) &&
        (d.namespace === undefined || d.namespace === attrs.namespace),
    );
    return {
      apiVersion: `${ACCESS_REVIEW.group}/${ACCESS_REVIEW.version}`,
      kind: ACCESS_REVIEW.kind,
      metadata: { creationTimestamp: null },
      spec: body?.spec ?? {},
      status: rule
        ? { allowed: false, denied: true, reason: `denied by the simulation's rule ${JSON.stringify(rule)}` }
        : { allowed: true, reason: 'the simulation allows it' },
    };
  }

  /** Path → resource, namespace, name, subresource; 404 for what is not served (a CRD set that is off included). */
  private route(pathname: string): Route {
    const notFound = () => new ApiError(404, 'NotFound', `the server could not find the requested resource (${pathname})`);
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(pathname);
    if (!m) throw notFound();
    const group = m[1] ? '' : m[2]!;
    const version = m[1] ?? m[3]!;
    let parts = m[4]!.split('/').filter(Boolean).map(decodeURIComponent);
    let namespace: string | undefined;
    // namespaces/<ns>/<plural>/… is namespaced; namespaces and namespaces/<name> are the Namespace resource.
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      namespace = parts[1];
      parts = parts.slice(2);
    }
    const [plural, name, sub, ...extra] = parts;
    const resource = servedResources(this.installed).find((r) => r.group === group && r.version === version && r.plural === plural);
    if (!resource || extra.length || (sub !== undefined && sub !== 'status')) throw notFound();
    if (namespace !== undefined && !resource.namespaced) throw notFound();
    // A namespaced resource without a namespace: a list or watch across all of them.
    if (resource.namespaced && namespace === undefined && name !== undefined) throw notFound();
    return { resource, namespace: resource.namespaced ? namespace : '', name, subresource: sub as 'status' | undefined };
  }

  private selection(route: Route, url: URL): Selection {
    const fields = parseSelector(url.searchParams.get('fieldSelector')) ?? {};
    const { 'metadata.name': byName, 'metadata.namespace': byNamespace, ...others } = fields;
    let labels;
    try {
      labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    } catch (err) {
      throw new ApiError(400, 'BadRequest', (err as Error).message);
    }
    return {
      kind: route.resource.kind,
      namespace: route.namespace ?? byNamespace,
      name: route.name ?? byName,
      labels,
      fields: others,
    };
  }

  private async dispatch(method: string, route: Route, url: URL, req: IncomingMessage): Promise<{ code: number; body: unknown }> {
    const { kind, writable } = route.resource;
    const dryRun = url.searchParams.get('dryRun') === 'All';
    if (method === 'GET' && !route.name)
      return {
        code: 200,
        body: {
          apiVersion: route.resource.group ? `${route.resource.group}/${route.resource.version}` : 'v1',
          kind: `${kind}List`,
          metadata: { resourceVersion: String(this.store.resourceVersion) },
          items: this.store.list(this.selection(route, url)).map(present),
        },
      };
    if (!writable && method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', `${method} on ${route.resource.plural} is not served by this simulation`);
    if (!route.name) {
      if (route.namespace === undefined) throw new ApiError(405, 'MethodNotAllowed', `${method} across namespaces is not supported`);
      if (method === 'POST') return { code: 201, body: this.create(route, (await readJson(req)) as SimObject, dryRun) };
      if (method === 'DELETE') {
        const items = this.store.list(this.selection(route, url)).map((o) => this.delete(o, dryRun));
        return { code: 200, body: { apiVersion: 'v1', kind: `${kind}List`, metadata: {}, items } };
      }
      throw new ApiError(405, 'MethodNotAllowed', `${method} on a collection is not supported`);
    }

    const current = this.store.get(kind, route.namespace ?? '', route.name);
    if (!current) throw new ApiError(404, 'NotFound', `${this.qualified(route)} "${route.name}" not found`);
    switch (method) {
      case 'GET':
        return { code: 200, body: present(current) };
      case 'PATCH':
        return { code: 200, body: this.patch(route, current, String(req.headers['content-type'] ?? ''), await readJson(req), dryRun) };
      case 'PUT':
        return { code: 200, body: this.replace(route, current, (await readJson(req)) as SimObject, dryRun) };
      case 'DELETE':
        return { code: 200, body: this.delete(current, dryRun) };
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  private qualified(route: Route) {
    return route.resource.group ? `${route.resource.plural}.${route.resource.group}` : route.resource.plural;
  }

  private validate(obj: SimObject, route: Route) {
    if (!route.resource.validated) return;
    const issues = this.opts.validate?.(obj) ?? [];
    if (issues.length)
      throw new ApiError(
        422,
        'Invalid',
        `${obj.kind}.${route.resource.group} "${obj.metadata?.name}" is invalid`,
        issues.map((i) => ({ field: i.path.replace(/^\//, '').replace(/\//g, '.'), message: i.message })),
      );
  }

  private create(route: Route, obj: SimObject, dryRun: boolean): SimObject {
    if (!obj || typeof obj !== 'object' || !obj.metadata?.name) throw new ApiError(400, 'BadRequest', 'the object has no metadata.name');
    if (obj.metadata.namespace && obj.metadata.namespace !== route.namespace)
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    if (obj.kind !== route.resource.kind) throw new ApiError(400, 'BadRequest', `kind ${obj.kind} sent to ${route.resource.plural}`);
    obj.metadata = { ...obj.metadata, namespace: route.namespace! };
    this.validate(obj, route);
    if (this.store.get(obj.kind, route.namespace!, obj.metadata.name))
      throw new ApiError(409, 'AlreadyExists', `${this.qualified(route)} "${obj.metadata.name}" already exists`);
    const admitted: SimObject = { ...obj, metadata: { ...obj.metadata, uid: this.nextUid(), generation: 1, creationTimestamp: new Date().toISOString() } };
    if (dryRun) return admitted; // validated and admitted, never stored
    const stored = this.store.write(admitted);
    if (this.controller.handles(stored.kind)) this.controller.created(stored);
    if (this.testRuns.handles(stored.kind)) this.testRuns.created(stored);
    if (this.jobs?.handles(stored.kind)) this.jobs.created(stored);
    if (stored.kind === 'PersistentVolumeClaim' && this.jobs) {
      // Bound at once to a directory of the simulation's (jobs.ts).
      this.jobs.claimDir(stored.metadata.namespace, stored.metadata.name);
      return this.store.write({ ...stored, status: { phase: 'Bound', accessModes: (stored.spec as { accessModes?: string[] })?.accessModes ?? [] } });
    }
    return stored;
  }

  private patch(route: Route, current: SimObject, contentType: string, body: unknown, dryRun: boolean): SimObject {
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
    return this.update(route, current, patched, dryRun);
  }

  private replace(route: Route, current: SimObject, body: SimObject, dryRun: boolean): SimObject {
    if (!body || typeof body !== 'object') throw new ApiError(400, 'BadRequest', 'the body is not an object');
    // /status takes the status alone; the main resource needs the whole object.
    if (route.subresource === 'status') return this.update(route, current, { ...current, status: body.status }, dryRun);
    if (!body.metadata) throw new ApiError(400, 'BadRequest', 'the body has no metadata');
    if (body.metadata.resourceVersion && body.metadata.resourceVersion !== current.metadata.resourceVersion)
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${this.qualified(route)} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    return this.update(route, current, { ...body, kind: current.kind, apiVersion: current.apiVersion }, dryRun);
  }

  private update(route: Route, current: SimObject, patched: SimObject, dryRun: boolean): SimObject {
    // The /status subresource changes status only; the main resource ignores status changes.
    const next: SimObject =
      route.subresource === 'status'
        ? { ...current, status: patched.status }
        : {
            ...patched,
            status: current.status,
            metadata: {
              ...patched.metadata,
              name: current.metadata.name,
              namespace: current.metadata.namespace,
              uid: current.metadata.uid,
              creationTimestamp: current.metadata.creationTimestamp,
            },
          };
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    this.validate(next, route);
    if (dryRun) return next;
    const stored = this.store.write(next);
    if (this.controller.handles(stored.kind)) this.controller.updated(current, stored);
    return stored;
  }

  private delete(current: SimObject, dryRun: boolean): SimObject {
    if (dryRun) return current;
    // Foreground deletion of an object with a finalizer answers with the object, marked for deletion.
    if (!current.metadata.deletionTimestamp) {
      if (this.controller.handles(current.kind)) this.controller.deleting(current);
      else if (this.testRuns.handles(current.kind)) this.testRuns.deleting(current);
      else this.store.remove(current.kind, current.metadata.namespace, current.metadata.name);
    }
    return this.store.get(current.kind, current.metadata.namespace, current.metadata.name) ?? current;
  }

  /**
   * A watch: newline-delimited `{type, object}` events. From a resourceVersion it replays
   * what happened after it (an ERROR event with 410 Gone when that is compacted away);
   * without one (or "0") it starts with ADDED for what exists now.
   */
  private watch(route: Route, url: URL, req: IncomingMessage, res: ServerResponse) {
    const sel = this.selection(route, url);
    const rv = url.searchParams.get('resourceVersion');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // At once, as the API server does: a client waits for the headers before it reads events.
    res.flushHeaders();
    const send = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    let backlog: StoredEvent[];
    try {
      backlog = rv && rv !== '0' ? this.store.since(Number(rv), sel) : this.store.list(sel).map((object) => ({ type: 'ADDED', object, resourceVersion: 0 }));
    } catch (err) {
      if (!(err instanceof ResourceVersionTooOld)) throw err;
      send('ERROR', statusBody(410, 'Expired', err.message));
      return void res.end();
    }
    for (const e of backlog) send(e.type, present(structuredClone(e.object)));
    const unsubscribe = this.store.subscribe((e) => {
      if (matches(e.object, sel)) send(e.type, present(structuredClone(e.object)));
    });
    this.openWatches.add(res);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    // Bookmarks where asked for: they carry the current resourceVersion and keep a quiet watch alive.
    const bookmarks =
      url.searchParams.get('allowWatchBookmarks') === 'true'
        ? setInterval(
            () =>
              send('BOOKMARK', {
                kind: route.resource.kind,
                apiVersion: groupVersion(route.resource),
                metadata: { resourceVersion: String(this.store.resourceVersion) },
              }),
            BOOKMARK_EVERY_MS,
          )
        : undefined;
    const close = () => {
      clearInterval(bookmarks);
      clearTimeout(timer);
      unsubscribe();
      this.openWatches.delete(res);
    };
    req.on('close', close);
    res.on('close', close);
  }

  /** services/<[scheme:]name[:port]>/proxy/… and pods/<name[:port]>/proxy/… */
  private async proxy(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray) {
    const [, ns, what, rawName, rest, query] = m;
    const namespace = decodeURIComponent(ns!);
    const parts = decodeURIComponent(rawName!).split(':');
    if (parts.length === 3 && parts[0] !== 'http')
      throw new ApiError(400, 'BadRequest', `scheme '${parts[0]}' is not supported by this simulation (http only)`);
    const [name, port] = parts.length === 3 ? [parts[1]!, parts[2]] : [parts[0]!, parts[1]];
    const backend = what === 'services' ? this.serviceBackend(namespace, name, port) : this.podBackend(namespace, name, port);
    await forward(req, res, backend, `${rest || '/'}${query ?? ''}`, { maxBytes: this.opts.maxProxyBytes ?? 16 << 20, timeoutMs: 120_000 });
  }

  private serviceBackend(namespace: string, name: string, port: string | undefined): ProxyBackend {
    const svc = this.opts.stage && SERVICES.find((s) => s.namespace === namespace && s.name === name);
    if (!svc || !this.store.get('Service', namespace, name)) throw new ApiError(404, 'NotFound', `services "${name}" not found`);
    if (port && port !== String(svc.port) && port !== svc.portName)
      throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${name}:${port}"`);
    const stage = this.opts.stage!;
    switch (`${namespace}/${name}`) {
      case `${APP_NAMESPACE}/graph-api`:
        return { url: stage.urls.service };
      case 'monitoring/prometheus':
        return { url: stage.urls.prometheus, headers: { authorization: basicAuthHeader(stage.auth.prometheus) } };
      case 'monitoring/alertmanager':
        return { url: stage.urls.alertmanager, headers: { authorization: basicAuthHeader(stage.auth.alertmanager) } };
      case 'monitoring/tempo':
        return { url: this.tempo!.url, headers: { authorization: `Bearer ${this.tempo!.queryToken}` } };
      default:
        throw new ApiError(503, 'ServiceUnavailable', `service "${name}" speaks no HTTP the simulation can proxy (${svc.portName})`);
    }
  }

  private podBackend(namespace: string, name: string, port: string | undefined): ProxyBackend {
    const pod = this.store.get('Pod', namespace, name);
    if (!pod) throw new ApiError(404, 'NotFound', `pods "${name}" not found`);
    const container = (pod.spec as { containers: Array<{ ports: Array<{ containerPort: number; name: string }> }> }).containers[0]!.ports[0]!;
    if (port && port !== String(container.containerPort) && port !== container.name)
      throw new ApiError(503, 'ServiceUnavailable', `pod "${name}" has no port ${port}`);
    if (pod.metadata.labels?.app === DB_APP) throw new ApiError(503, 'ServiceUnavailable', `pod "${name}" speaks PostgreSQL, not HTTP`);
    // As the API server does: the pod proxy reaches a pod whose container runs, ready or not (readiness
    // decides a Service's endpoints, not the proxy), so a drill sees the service's own answer, 5xx included.
    const running = ((pod.status?.containerStatuses ?? []) as Array<{ state?: { running?: unknown } }>).some((c) => c.state?.running);
    if (!running) throw new ApiError(503, 'ServiceUnavailable', `pod "${name}" has no running container`);
    return { url: `http://127.0.0.1:${container.containerPort}` };
  }
}

function send(res: ServerResponse, code: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', `the request body is larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  if (!chunks.length) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `request body is not JSON: ${(err as Error).message}`);
  }
}

/** A self-signed certificate for 127.0.0.1 (its own CA), made with openssl: what in-cluster clients trust. */
function selfSignedCertificate(dir: string): { key: string; cert: string } {
  const key = join(dir, 'apiserver.key');
  const cert = join(dir, 'apiserver.crt');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=kube-sim',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8', timeout: 30_000, env: childEnv() },
  );
  if (r.status !== 0) throw new Error(`openssl could not make the simulation's TLS certificate (apt-get install openssl): ${r.error?.message ?? r.stderr}`);
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}
