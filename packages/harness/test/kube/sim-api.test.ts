// The simulated API server's own surface, without a stage: discovery, the CRDs it reports
// installed (and 404 for a set that is off), SelfSubjectAccessReview with deny rules,
// set-based label selectors, the proxy subresources against loopback servers that record
// what reached them, and its Tempo (ingest, trace by id, search, limits).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, ApisApi, AuthorizationV1Api, CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader, KubeSim, SimTempo, type SimStageHandle } from '@drillbook/stage';
import { tempoTraceToSpans } from '../../src/observe/trace-backends.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-sim-api-'));
const started: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function simWith(opts: ConstructorParameters<typeof KubeSim>[0]): Promise<{ sim: KubeSim; kc: KubeConfig }> {
  const sim = new KubeSim(opts);
  await sim.start();
  started.push(sim);
  const kc = new KubeConfig();
  kc.loadFromFile(sim.writeKubeconfig(join(dir, `kc-${started.length}`), 'sim', 'intelgraph'));
  return { sim, kc };
}

const call = (sim: KubeSim, path: string, init: RequestInit = {}) =>
  fetch(`${sim.url}${path}`, { ...init, headers: { authorization: `Bearer ${sim.token}`, ...(init.headers as Record<string, string>) } });

describe('discovery and CRDs', () => {
  it('answers version and discovery, and lists the Chaos Mesh and k6-operator CRDs with their chart versions', async () => {
    const { kc } = await simWith({});
    expect((await kc.makeApiClient(VersionApi).getCode()).gitVersion).toBe('v1.31.0+drillbook-sim');
    const groups = (await kc.makeApiClient(ApisApi).getAPIVersions()).groups.map((g) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['apps', 'apiextensions.k8s.io', 'authorization.k8s.io', 'chaos-mesh.org', 'k6.io']));
    const crds = (await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items;
    const byName = new Map(crds.map((c) => [c.metadata!.name!, c]));
    expect([...byName.keys()].sort()).toEqual([
      'networkchaos.chaos-mesh.org',
      'podchaos.chaos-mesh.org',
      'schedules.chaos-mesh.org',
      'stresschaos.chaos-mesh.org',
      'testruns.k6.io',
      'workflows.chaos-mesh.org',
    ]);
    expect(byName.get('podchaos.chaos-mesh.org')).toMatchObject({
      metadata: { labels: { 'app.kubernetes.io/version': '2.7.2' } },
      spec: { group: 'chaos-mesh.org', names: { kind: 'PodChaos', plural: 'podchaos' }, versions: [{ name: 'v1alpha1', served: true, storage: true }] },
    });
    expect(byName.get('testruns.k6.io')!.metadata!.labels!['app.kubernetes.io/version']).toBe('0.0.21');
    const one = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'testruns.k6.io' });
    expect(one.spec.names.kind).toBe('TestRun');
  });

  it('with the Chaos Mesh CRDs off: absent from the list and discovery, and their paths answer 404', async () => {
    const { sim, kc } = await simWith({ crds: { chaosMesh: false } });
    const names = (await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items.map((c) => c.metadata!.name);
    expect(names).toEqual(['testruns.k6.io']);
    expect((await kc.makeApiClient(ApisApi).getAPIVersions()).groups.map((g) => g.name)).not.toContain('chaos-mesh.org');
    const res = await call(sim, '/apis/chaos-mesh.org/v1alpha1/namespaces/intelgraph/podchaos');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    expect((await call(sim, '/apis/chaos-mesh.org/v1alpha1')).status).toBe(404);
    expect((await call(sim, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/podchaos.chaos-mesh.org')).status).toBe(404);
    expect((await call(sim, '/apis/k6.io/v1alpha1/namespaces/intelgraph/testruns')).status).toBe(200);
  });

  it('with the k6-operator CRD off, TestRuns answer 404', async () => {
    const { sim } = await simWith({ crds: { k6Operator: false } });
    expect((await call(sim, '/apis/k6.io/v1alpha1/namespaces/intelgraph/testruns')).status).toBe(404);
    expect((await call(sim, '/apis/chaos-mesh.org/v1alpha1/namespaces/intelgraph/podchaos')).status).toBe(200);
  });
});

describe('SelfSubjectAccessReview', () => {
  it('allows everything but what a deny rule matches', async () => {
    const { kc } = await simWith({ deny: [{ verb: 'delete', group: 'chaos-mesh.org', resource: 'podchaos', namespace: 'intelgraph' }] });
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const review = (verb: string, namespace: string) =>
      authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb, group: 'chaos-mesh.org', resource: 'podchaos', namespace } } } });
    expect((await review('create', 'intelgraph')).status!.allowed).toBe(true);
    const denied = await review('delete', 'intelgraph');
    expect(denied.status).toMatchObject({ allowed: false, denied: true });
    expect((await review('delete', 'other')).status!.allowed).toBe(true);
  });
});

describe('lists', () => {
  it('set-based label selectors, and 400 for one it cannot parse', async () => {
    const { sim, kc } = await simWith({
      deployments: [
        { namespace: 'intelgraph', name: 'graph-api', replicas: 2, labels: { app: 'graph-api', tier: 'web' } },
        { namespace: 'intelgraph', name: 'worker', replicas: 1, labels: { app: 'worker' } },
      ],
    });
    const names = async (selector: string) =>
      (
        (await (await call(sim, `/apis/apps/v1/namespaces/intelgraph/deployments?labelSelector=${encodeURIComponent(selector)}`)).json()) as {
          items: Array<{ metadata: { name: string } }>;
        }
      ).items
        .map((i) => i.metadata.name)
        .sort();
    expect(await names('app in (graph-api,worker)')).toEqual(['graph-api', 'worker']);
    expect(await names('tier')).toEqual(['graph-api']);
    expect(await names('!tier')).toEqual(['worker']);
    expect(await names('app!=worker')).toEqual(['graph-api']);
    expect((await call(sim, `/apis/apps/v1/namespaces/intelgraph/deployments?labelSelector=${encodeURIComponent('app in graph-api')}`)).status).toBe(400);
    // Namespaces are cluster-scoped; fake mode has none but the list answers.
    expect((await kc.makeApiClient(CoreV1Api).listNamespace()).kind).toBe('NamespaceList');
  });
});

describe('proxy subresources', () => {
  interface Seen {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    body: string;
  }
  const seen: Seen[] = [];
  const servers: Server[] = [];
  let backend = '';
  let control = '';
  let sim: KubeSim;
  const stage: SimStageHandle = {
    urls: { service: '', prometheus: '', alertmanager: '', control: '', database: '', databaseViaProxy: '', replicas: [] },
    controlToken: 'control-token-of-this-test',
    auth: { prometheus: { username: 'prom', password: 'p-secret' }, alertmanager: { username: 'am', password: 'a-secret' } },
  };
  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const s = createServer(handler);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    // A backend that records what reached it (the balancer, Prometheus, Alertmanager all point here).
    backend = await listen((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/big') return void res.end('x'.repeat(4096));
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.method} ${req.url}`);
      });
    });
    const port = Number(new URL(backend).port);
    // The stage's control API as the simulation polls it: one ready replica (the backend), one not.
    control = await listen((req, res) => {
      if (req.headers.authorization !== `Bearer ${stage.controlToken}`) return void res.writeHead(401).end();
      const body =
        req.url === '/replicas'
          ? [
              { name: 'replica-1', pid: 1, port, ready: true, restarts: 0 },
              { name: 'replica-2', pid: null, port: port + 1, ready: false, restarts: 3 },
            ]
          : [{ name: 'postgresql', kind: 'postgresql', pid: 2, port: 5432, healthy: true }];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    stage.urls = { ...stage.urls, service: backend, prometheus: backend, alertmanager: backend, control };
    sim = (await simWith({ stage, maxProxyBytes: 1024, tempo: new SimTempo() })).sim;
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  it('carries method, path, query and body; never the client’s Authorization; adds the backend’s own', async () => {
    const res = await call(sim, '/api/v1/namespaces/intelgraph/services/graph-api:80/proxy/report/a%2Fb?x=1&y=two', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'session=1' },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    const got = seen.at(-1)!;
    expect(got).toMatchObject({ method: 'POST', url: '/report/a%2Fb?x=1&y=two', body: '{"hello":"world"}' });
    expect(got.headers.authorization).toBeUndefined();
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers['content-type']).toBe('application/json');
    await call(sim, '/api/v1/namespaces/monitoring/services/http:prometheus:web/proxy/api/v1/query?query=up');
    expect(seen.at(-1)!.headers.authorization).toBe(basicAuthHeader(stage.auth.prometheus));
    expect(seen.at(-1)!.url).toBe('/api/v1/query?query=up');
    await call(sim, '/api/v1/namespaces/monitoring/services/alertmanager:9093/proxy/api/v2/alerts');
    expect(seen.at(-1)!.headers.authorization).toBe(basicAuthHeader(stage.auth.alertmanager));
  });

  it('bounded both ways; a wrong port, an unknown service and a pod whose container is not running are refused with a Status', async () => {
    const before = seen.length;
    const big = await call(sim, '/api/v1/namespaces/intelgraph/services/graph-api/proxy/ingest', { method: 'POST', body: 'y'.repeat(4096) });
    expect(big.status).toBe(413);
    expect(seen.slice(before).some((s) => s.body.length > 1024)).toBe(false);
    await expect(call(sim, '/api/v1/namespaces/intelgraph/services/graph-api/proxy/big').then((r) => r.text())).rejects.toThrow();
    expect((await call(sim, '/api/v1/namespaces/intelgraph/services/graph-api:81/proxy/')).status).toBe(503);
    expect((await call(sim, '/api/v1/namespaces/monitoring/services/grafana/proxy/')).status).toBe(404);
    const pods = (await (await call(sim, '/api/v1/namespaces/intelgraph/pods?labelSelector=app%3Dgraph-api')).json()) as {
      items: Array<{ metadata: { name: string; annotations: Record<string, string> } }>;
    };
    const byReplica = new Map(pods.items.map((p) => [p.metadata.annotations['drillbook.dev/stage-replica'], p.metadata.name]));
    const ready = await call(sim, `/api/v1/namespaces/intelgraph/pods/${byReplica.get('replica-1')}/proxy/healthz`);
    expect(await ready.text()).toBe('ok GET /healthz');
    const notReady = await call(sim, `/api/v1/namespaces/intelgraph/pods/${byReplica.get('replica-2')}/proxy/healthz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ kind: 'Status', code: 503, message: expect.stringMatching(/has no running container/) });
    expect((await call(sim, '/api/v1/namespaces/intelgraph/pods/graph-db-0/proxy/')).status).toBe(503);
  });
});

describe("the simulation's Tempo", () => {
  const tempo = new SimTempo({ maxSpans: 3, maxBodyBytes: 4096 });
  beforeAll(async () => {
    await tempo.start();
    started.push(tempo);
  });
  const span = (traceId: string, spanId: string, name: string, parent?: string) => ({
    traceId,
    spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    kind: 2,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000250000000',
    attributes: [{ key: 'http.response.status_code', value: { intValue: 503 } }],
    status: { code: 2 },
  });
  const post = (body: unknown, headers: Record<string, string> = tempo.otlp.headers, type = 'application/json') =>
    fetch(tempo.otlp.url, { method: 'POST', headers: { ...headers, 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const query = (path: string, token = tempo.queryToken) => fetch(`${tempo.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const A = 'a'.repeat(32);
  const B = Buffer.from('b'.repeat(32), 'hex').toString('base64'); // the protobuf JSON mapping's base64 ids

  it('takes OTLP JSON with its ingest token only, and answers a trace by id as batches tempoTraceToSpans reads', async () => {
    const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'graph-api' } }] };
    expect((await post({ resourceSpans: [] }, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post('x', tempo.otlp.headers, 'application/x-protobuf')).status).toBe(415);
    expect((await post('z'.repeat(5000))).status).toBe(413);
    const ok = await post({
      resourceSpans: [
        {
          resource,
          scopeSpans: [
            { scope: { name: 't' }, spans: [span(A, '1'.repeat(16), 'GET /'), span(B, Buffer.from('2'.repeat(16), 'hex').toString('base64'), 'POST /ingest')] },
          ],
        },
      ],
    });
    expect(ok.status).toBe(200);
    expect((await query(`/api/traces/${A}`, tempo.ingestToken)).status).toBe(401);
    const body = await (await query(`/api/traces/${A}`)).json();
    const spans = tempoTraceToSpans(body);
    expect(spans).toMatchObject([{ traceId: A, spanId: '1'.repeat(16), name: 'GET /', service: 'graph-api', statusCode: 2 }]);
    expect(tempoTraceToSpans(await (await query(`/api/traces/${'b'.repeat(32)}`)).json())[0]).toMatchObject({ spanId: '2'.repeat(16), name: 'POST /ingest' });
    expect((await query(`/api/traces/${'c'.repeat(32)}`)).status).toBe(404);
  });

  it('searches with simple TraceQL, refuses what it does not understand, and drops the oldest traces past its bound', async () => {
    const search = async (q: string) =>
      (await (await query(`/api/search?q=${encodeURIComponent(q)}&start=1699999999&end=1700000001`)).json()) as { traces: Array<{ traceID: string }> };
    expect((await search('{ resource.service.name = "graph-api" && span.http.response.status_code >= 500 }')).traces.map((t) => t.traceID).sort()).toEqual([
      A,
      'b'.repeat(32),
    ]);
    expect((await search('{ name = "GET /" }')).traces.map((t) => t.traceID)).toEqual([A]);
    expect((await search('{ resource.service.name = "other" }')).traces).toEqual([]);
    expect((await query(`/api/search?q=${encodeURIComponent('{ span.x =~ "a.*" }')}`)).status).toBe(400);
    const C = 'c'.repeat(32);
    await post({ resourceSpans: [{ scopeSpans: [{ spans: [span(C, '3'.repeat(16), 'one'), span(C, '4'.repeat(16), 'two', '3'.repeat(16))] }] }] });
    // 4 spans > 3: the oldest trace (A) went.
    expect((await query(`/api/traces/${A}`)).status).toBe(404);
    expect((await query(`/api/traces/${C}`)).status).toBe(200);
  });
});

describe('k6-operator TestRuns', () => {
  const testRun = (name: string) => ({
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: { name },
    spec: {
      parallelism: 1,
      script: { configMap: { name: 'scripts', file: 'steady.js' } },
      runner: { env: [{ name: 'BASE_URL', value: 'http://graph-api.intelgraph:80' }] },
    },
  });
  /** The stages a watch sees, until the TestRun ends (finished or error). */
  const stagesOf = async (sim: KubeSim, name: string) => {
    const ac = new AbortController();
    const res = await call(sim, `/apis/k6.io/v1alpha1/namespaces/intelgraph/testruns?watch=true&fieldSelector=metadata.name%3D${name}&timeoutSeconds=30`, {
      signal: ac.signal,
    });
    const stages: string[] = [];
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        const s = (JSON.parse(line) as { object: { status?: { stage?: string } } }).object.status?.stage;
        if (s && stages.at(-1) !== s) stages.push(s);
      }
      if (stages.at(-1) === 'finished' || stages.at(-1) === 'error') break;
    }
    ac.abort();
    return stages;
  };
  const create = (sim: KubeSim, path: string, body: object) =>
    call(sim, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('moves through the operator’s stages while the injected runner runs the script the ConfigMap holds', async () => {
    const runs: Array<{ script?: string; baseUrl?: string }> = [];
    const { sim } = await simWith({ injectDelayMs: 10, runTestRun: async (r) => (runs.push({ script: r.script, baseUrl: r.baseUrl }), { ok: true }) });
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'scripts' }, data: { 'steady.js': 'export default function () {}' } };
    expect((await create(sim, '/api/v1/namespaces/intelgraph/configmaps', cm)).status).toBe(201);
    expect((await create(sim, '/apis/k6.io/v1alpha1/namespaces/intelgraph/testruns', testRun('steady'))).status).toBe(201);
    expect(await stagesOf(sim, 'steady')).toEqual(['initialization', 'initialized', 'created', 'started', 'finished']);
    expect(runs).toEqual([{ script: 'export default function () {}', baseUrl: 'http://graph-api.intelgraph:80' }]);
  });

  it('without a runner it ends in error, saying why; deleting a running one aborts its runner', async () => {
    const { sim } = await simWith({ injectDelayMs: 10 });
    await create(sim, '/apis/k6.io/v1alpha1/namespaces/intelgraph/testruns', testRun('alone'));
    expect((await stagesOf(sim, 'alone')).at(-1)).toBe('error');
    expect(JSON.stringify(sim.get('TestRun', 'intelgraph', 'alone')!.status)).toMatch(/only with a runner/);

    let aborted: unknown;
    const { sim: other } = await simWith({
      injectDelayMs: 10,
      runTestRun: (r) =>
        new Promise((resolve) =>
          r.signal.addEventListener('abort', () => {
            aborted = r.signal.reason;
            resolve({ ok: false });
          }),
        ),
    });
    await create(other, '/apis/k6.io/v1alpha1/namespaces/intelgraph/testruns', testRun('long'));
    for (let i = 0; i < 100 && other.get('TestRun', 'intelgraph', 'long')!.status?.stage !== 'started'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(other.get('TestRun', 'intelgraph', 'long')!.status).toMatchObject({ stage: 'started' });
    expect((await call(other, '/apis/k6.io/v1alpha1/namespaces/intelgraph/testruns/long', { method: 'DELETE' })).status).toBe(200);
    expect(String(aborted)).toMatch(/deleted/);
    expect(other.get('TestRun', 'intelgraph', 'long')).toBeUndefined();
  });
});
