// The Kubernetes environment's pieces that need no cluster: pod facts, the port choice, Service
// references, the targets a plan uses, what doctor asks for, the kubeconfig refusals, and the
// API-server forwarder against a loopback server that records what reached it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defineConfig, defineGameDay, fault, probe } from '../../src/index.ts';
import { ApiServerForwarder, parseServiceRef, podProxyPath, serviceProxyPath } from '../../src/kubernetes/api-proxy.ts';
import { SafetyError } from '../../src/kubernetes/allow-list.ts';
import { targetsUsed } from '../../src/kubernetes/checks.ts';
import { loadKubeConfig } from '../../src/kubernetes/client.ts';
import { requiredAccess } from '../../src/kubernetes/access.ts';
import { formatDoctor, requiredCrds } from '../../src/kubernetes/doctor.ts';
import { podInfo, podPort } from '../../src/kubernetes/pods.ts';
import { EnvironmentError } from '../../src/errors.ts';
import { anchoredToProject } from '../../src/session/run/prepare.ts';
import type { KubernetesEnvironment } from '../../src/define/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-k8s-pieces-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env: KubernetesEnvironment = {
  kind: 'kubernetes',
  context: 'sim',
  namespaces: ['intelgraph'],
  prometheus: { service: 'monitoring/prometheus:9090' },
  targets: { api: { selector: { app: 'graph-api' } }, db: { selector: { app: 'graph-db' }, namespace: 'intelgraph' } },
};

describe('pods', () => {
  const pod = {
    metadata: { name: 'graph-api-1', namespace: 'intelgraph' },
    spec: {
      containers: [
        {
          name: 'api',
          ports: [
            { name: 'metrics', containerPort: 9464 },
            { name: 'http', containerPort: 8080 },
          ],
        },
      ],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'api', ready: true, restartCount: 2, image: 'x', imageID: 'x' }],
    },
  };

  it('reads readiness from the Ready condition, restarts summed over containers', () => {
    expect(podInfo(pod as never)).toMatchObject({ name: 'graph-api-1', ready: true, restarts: 2, phase: 'Running' });
    expect(podInfo({ ...pod, status: { ...pod.status, conditions: [{ type: 'Ready', status: 'False' }] } } as never).ready).toBe(false);
    // A pod being deleted is not a pod to send traffic to, whatever its condition still says.
    expect(podInfo({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date() } } as never).ready).toBe(false);
  });

  it('chooses the configured port, the named one, else the first declared', () => {
    const info = podInfo(pod as never);
    expect(podPort(info, 3000)).toBe(3000);
    expect(podPort(info, 'http')).toBe(8080);
    expect(podPort(info, 'grpc')).toBeUndefined();
    expect(podPort(info)).toBe(9464);
  });
});

describe('references and plans', () => {
  it('parses namespace/name:port and builds the proxy paths', () => {
    expect(parseServiceRef('monitoring/prometheus-k8s:9090')).toEqual({ namespace: 'monitoring', name: 'prometheus-k8s', port: '9090' });
    expect(() => parseServiceRef('prometheus:9090')).toThrow(/namespace\/name:port/);
    expect(serviceProxyPath('monitoring', 'prometheus', 'web')).toBe('/api/v1/namespaces/monitoring/services/prometheus:web/proxy');
    expect(podProxyPath('intelgraph', 'graph-api-0', 8080)).toBe('/api/v1/namespaces/intelgraph/pods/graph-api-0:8080/proxy');
  });

  it('a service reference that is not namespace/name:port is a definition error naming the field', () => {
    expect(() => defineConfig({ environments: { s: { ...env, prometheus: { service: 'prometheus' } } } })).toThrow(
      /prometheus\.service must be 'namespace\/name:port'/,
    );
  });

  it('lists the targets a plan touches: probes, faults and their dependencies', () => {
    const gd = defineGameDay({
      name: 'x',
      environments: ['sim'],
      steadyState: [probe.http({ name: 'up', target: 'api', path: '/readyz' }), probe.k8s({ target: 'api', ready: '>= 2' })],
      phases: [{ name: 'slow', fault: fault.network({ target: 'api', dependency: 'db', delay: '50ms', duration: '5s' }) }],
    });
    expect(targetsUsed(gd.plan).sort()).toEqual(['api', 'db']);
    expect(gd.plan.steadyState[1]).toMatchObject({ kind: 'k8s', name: 'ready:api', target: 'api', tolerance: { op: '>=', value: 2 } });
  });

  it('probe.k8s without `ready` is a definition error with the fix', () => {
    expect(() => defineGameDay({ name: 'x', environments: ['sim'], steadyState: [probe.k8s({ target: 'api' } as never)], phases: [] })).toThrow(
      /missing ready[\s\S]*ready: '>= 2'/,
    );
  });

  it('a relative kubeconfig is anchored at the project root; other kinds pass through', () => {
    expect(anchoredToProject({ ...env, kubeconfig: '.drillbook/sim/kubeconfig' }, '/p')).toMatchObject({ kubeconfig: '/p/.drillbook/sim/kubeconfig' });
    expect(anchoredToProject({ ...env, kubeconfig: '/abs/kc' }, '/p')).toMatchObject({ kubeconfig: '/abs/kc' });
    expect(anchoredToProject({ kind: 'local' }, '/p')).toEqual({ kind: 'local' });
  });
});

describe('doctor asks for', () => {
  it('the Chaos Mesh CRDs, and the k6-operator one only when load runs through it', () => {
    expect(requiredCrds(env).map((c) => c.name)).toContain('podchaos.chaos-mesh.org');
    expect(requiredCrds(env).map((c) => c.name)).not.toContain('testruns.k6.io');
    expect(requiredCrds({ ...env, load: { k6Operator: { namespace: 'intelgraph' } } }).map((c) => c.name)).toContain('testruns.k6.io');
  });

  it('every verb a drill uses, in the targets’ namespaces, plus the proxy to a Service it reads', () => {
    const access = requiredAccess(env);
    expect(access).toContainEqual({ verb: 'create', group: 'chaos-mesh.org', resource: 'podchaos', namespace: 'intelgraph' });
    expect(access).toContainEqual({ verb: 'get', group: '', resource: 'pods', subresource: 'proxy', namespace: 'intelgraph' });
    expect(access).toContainEqual({ verb: 'get', group: '', resource: 'services', subresource: 'proxy', namespace: 'monitoring' });
    expect(access.every((a) => a.namespace === 'intelgraph' || a.resource === 'services')).toBe(true);
  });

  it('prints ✓/✗ with the fix under each ✗', () => {
    const text = formatDoctor('sim', [
      { name: 'context', ok: true, detail: 'sim → http://127.0.0.1:1' },
      { name: 'CRD podchaos.chaos-mesh.org', ok: false, detail: 'not installed (Chaos Mesh)', fix: 'install Chaos Mesh' },
    ]);
    expect(text).toContain('✓ context: sim → http://127.0.0.1:1');
    expect(text).toContain('✗ CRD podchaos.chaos-mesh.org: not installed (Chaos Mesh)\n    fix: install Chaos Mesh');
    expect(text).toContain('1 of 2 checks failed');
  });
});

describe('kubeconfig refusals, before any call', () => {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'prod', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'prod',
    }),
  );

  it('a context the kubeconfig lacks is refused (exit 2), never replaced by the current one', () => {
    let err: unknown;
    try {
      loadKubeConfig(kubeconfig, 'sim');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetyError);
    expect((err as SafetyError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/has no context 'sim' \(it has 'prod'\)/);
  });

  it('a kubeconfig that cannot be read is an environment error naming the file', () => {
    expect(() => loadKubeConfig(join(dir, 'missing'), 'sim')).toThrow(EnvironmentError);
    expect(() => loadKubeConfig(join(dir, 'missing'), 'sim')).toThrow(/missing could not be read/);
  });
});

describe('the API-server forwarder', () => {
  let api: Server;
  const seen: Array<{ method: string; url: string; auth?: string; body: string }> = [];
  let answer503 = false;
  const kubeconfig = join(dir, 'kubeconfig-fwd');

  beforeAll(async () => {
    api = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body });
        if (answer503) return void res.writeHead(503).end('pod not ready');
        res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'yes' }).end(`ok ${req.url}`);
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'kube-token' } }],
        contexts: [{ name: 'sim', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'sim',
      }),
    );
  });
  afterAll(() => new Promise<void>((r) => api.close(() => r())));

  it('sends each request under the route’s prefix with the kubeconfig’s credentials, never the caller’s', async () => {
    const fw = new ApiServerForwarder(
      loadKubeConfig(kubeconfig, 'sim'),
      { describe: 'svc', base: async () => '/api/v1/namespaces/m/services/p:9090/proxy' },
      {
        requireAuthorization: 'Basic run-secret',
      },
    );
    const url = await fw.listen();
    try {
      expect((await fetch(`${url}/api/v1/query?query=up`)).status).toBe(401); // no run secret: refused here
      const res = await fetch(`${url}/api/v1/query?query=up`, { method: 'POST', headers: { authorization: 'Basic run-secret' }, body: 'a=1' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-upstream')).toBe('yes');
      expect(seen.at(-1)).toEqual({
        method: 'POST',
        url: '/api/v1/namespaces/m/services/p:9090/proxy/api/v1/query?query=up',
        auth: 'Bearer kube-token',
        body: 'a=1',
      });
      expect(fw.stats).toMatchObject({ requests: 2, refused: 1 });
    } finally {
      await fw.close();
    }
  });

  it('a 503 from the API server (pod gone or not ready) makes the route choose again', async () => {
    let chosen = 0;
    let invalidated = 0;
    const fw = new ApiServerForwarder(loadKubeConfig(kubeconfig, 'sim'), {
      describe: 'pods',
      base: async () => `/pods/p-${++chosen}:8080/proxy`,
      invalidate: () => invalidated++,
    });
    const url = await fw.listen();
    try {
      answer503 = true;
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
      answer503 = false;
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(invalidated).toBe(1);
      expect(fw.stats.upstreamErrors).toBe(1);
    } finally {
      answer503 = false;
      await fw.close();
    }
  });

  it('a route with no pod answers 503 naming why, without calling the API server', async () => {
    const before = seen.length;
    const fw = new ApiServerForwarder(loadKubeConfig(kubeconfig, 'sim'), {
      describe: "target 'api'",
      base: async () => {
        throw new Error('no ready pod (0 found)');
      },
    });
    const url = await fw.listen();
    try {
      const res = await fetch(`${url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain("target 'api': no ready pod (0 found)");
      expect(seen.length).toBe(before);
    } finally {
      await fw.close();
    }
  });
});
