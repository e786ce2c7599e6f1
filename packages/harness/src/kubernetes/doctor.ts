// `drill doctor --env <kubernetes env>`: everything a first run on a cluster depends on, checked
// one by one with the fix for each failure — the kubeconfig context, the API server and its
// version, the Chaos Mesh (and k6-operator) CRDs and their versions, RBAC for every verb a drill
// uses (SelfSubjectAccessReview), Prometheus/Alertmanager, and each target's ready pods.
// Read-only: nothing is created except the access reviews, which the API server does not store.
import { ApiextensionsV1Api, AuthorizationV1Api, VersionApi, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { KubernetesEnvironment, UrlOrService } from '../define/config.ts';
import { reachable } from '../observe/reachable.ts';
// One list of the access a drill uses (access.ts) serves the access reviews here and the Role `drill schedule --emit k8s` writes.
import { requiredAccess } from './access.ts';
import { ApiServerForwarder, parseServiceRef, serviceProxyPath } from './api-proxy.ts';
import { apiErrorMessage, labelSelector, loadKubeConfig, serverOf } from './client.ts';
import { listPods } from './pods.ts';
import { CHAOS_GROUP, CHAOS_VERSION, PLURALS } from '../faults/chaos-mesh/objects.ts';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

/** The CRDs a drill on this environment needs: Chaos Mesh's always, k6-operator's when load runs through it. */
export function requiredCrds(env: KubernetesEnvironment): Array<{ name: string; version: string; product: string }> {
  const chaos = Object.values(PLURALS).map((plural) => ({ name: `${plural}.${CHAOS_GROUP}`, version: CHAOS_VERSION, product: 'Chaos Mesh' }));
  return env.load?.k6Operator ? [...chaos, { name: 'testruns.k6.io', version: 'v1alpha1', product: 'k6-operator' }] : chaos;
}

const versionOf = (crd: V1CustomResourceDefinition) =>
  crd.metadata?.labels?.['app.kubernetes.io/version'] ?? crd.metadata?.annotations?.['controller-gen.kubebuilder.io/version'] ?? 'version not labelled';

async function crdChecks(kc: KubeConfig, env: KubernetesEnvironment): Promise<DoctorCheck[]> {
  let installed: V1CustomResourceDefinition[];
  try {
    installed = (await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items;
  } catch (err) {
    return [
      {
        name: 'CRDs',
        ok: false,
        detail: `cannot list CustomResourceDefinitions: ${apiErrorMessage(err)}`,
        fix: 'grant list on customresourcedefinitions, or check by hand with kubectl get crd',
      },
    ];
  }
  const byName = new Map(installed.map((c) => [c.metadata?.name ?? '', c]));
  return requiredCrds(env).map(({ name, version, product }) => {
    const crd = byName.get(name);
    if (!crd)
      return {
        name: `CRD ${name}`,
        ok: false,
        detail: `not installed (${product})`,
        fix:
          product === 'Chaos Mesh'
            ? 'install Chaos Mesh (helm install chaos-mesh chaos-mesh/chaos-mesh -n chaos-mesh)'
            : 'install the k6-operator (its bundle or Helm chart)',
      };
    const served = (crd.spec.versions ?? []).filter((v) => v.served).map((v) => v.name);
    if (!served.includes(version))
      return {
        name: `CRD ${name}`,
        ok: false,
        detail: `serves ${served.join(', ') || 'no version'}, not ${version}`,
        fix: `upgrade ${product} to a release that serves ${version}`,
      };
    return { name: `CRD ${name}`, ok: true, detail: `${version} served (${product} ${versionOf(crd)})` };
  });
}

async function accessChecks(kc: KubeConfig, env: KubernetesEnvironment): Promise<DoctorCheck[]> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const denied: string[] = [];
  const wanted = requiredAccess(env);
  for (const a of wanted) {
    const what = `${a.verb} ${a.group ? `${a.resource}.${a.group}` : a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.name ? ` ${a.name}` : ''} in ${a.namespace}`;
    try {
      const review = await api.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb: a.verb,
              group: a.group,
              resource: a.resource,
              namespace: a.namespace,
              ...(a.subresource ? { subresource: a.subresource } : {}),
              ...(a.name ? { name: a.name } : {}),
            },
          },
        },
      });
      if (!review.status?.allowed) denied.push(what);
    } catch (err) {
      return [
        {
          name: 'RBAC',
          ok: false,
          detail: `access reviews failed: ${apiErrorMessage(err)}`,
          fix: 'the API server must serve authorization.k8s.io/v1 SelfSubjectAccessReview',
        },
      ];
    }
  }
  return [
    denied.length
      ? {
          name: 'RBAC',
          ok: false,
          detail: `${denied.length} of ${wanted.length} permissions denied: ${denied.join('; ')}`,
          fix: 'bind the drill’s user or service account to a Role granting these in the allow-listed namespaces',
        }
      : { name: 'RBAC', ok: true, detail: `all ${wanted.length} permissions a drill uses are granted` },
  ];
}

/** Reaches a URL or a Service (through a short-lived forwarder) and asks `path`; undefined when it answers 2xx. */
async function endpointProblem(kc: KubeConfig, ref: UrlOrService, path: string): Promise<string | undefined> {
  if (typeof ref === 'string') return reachable(new URL(path, ref).href, { requireOk: true });
  const { namespace, name, port } = parseServiceRef(ref.service);
  const base = serviceProxyPath(namespace, name, port);
  const forwarder = new ApiServerForwarder(kc, { describe: `service ${ref.service}`, base: async () => base });
  try {
    return await reachable(new URL(path, await forwarder.listen()).href, { requireOk: true });
  } finally {
    await forwarder.close();
  }
}

async function monitoringChecks(kc: KubeConfig, env: KubernetesEnvironment): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  const describe = (ref: UrlOrService) => (typeof ref === 'string' ? ref : `service ${ref.service}`);
  if (!env.prometheus)
    out.push({
      name: 'Prometheus',
      ok: false,
      detail: 'not configured: alerts and SLO burn cannot be measured',
      fix: "set prometheus: 'http://…' or { service: 'monitoring/prometheus:9090' }",
    });
  else {
    const why = await endpointProblem(kc, env.prometheus, '/api/v1/status/buildinfo');
    out.push(
      why
        ? { name: 'Prometheus', ok: false, detail: `${describe(env.prometheus)}: ${why}`, fix: 'check the URL or Service name and port' }
        : { name: 'Prometheus', ok: true, detail: `${describe(env.prometheus)} answers` },
    );
  }
  if (env.alertmanager) {
    const why = await endpointProblem(kc, env.alertmanager, '/-/healthy');
    out.push(
      why
        ? { name: 'Alertmanager', ok: false, detail: `${describe(env.alertmanager)}: ${why}`, fix: 'check the URL or Service name and port' }
        : { name: 'Alertmanager', ok: true, detail: `${describe(env.alertmanager)} answers` },
    );
  }
  return out;
}

async function targetChecks(kc: KubeConfig, env: KubernetesEnvironment): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  for (const [name, t] of Object.entries(env.targets)) {
    const namespace = t.namespace ?? env.namespaces[0]!;
    const what = `${labelSelector(t.selector)} in ${namespace}`;
    try {
      const pods = await listPods(kc, namespace, t.selector);
      const ready = pods.filter((p) => p.ready).length;
      out.push(
        ready
          ? { name: `target ${name}`, ok: true, detail: `${ready}/${pods.length} pods ready (${what})` }
          : {
              name: `target ${name}`,
              ok: false,
              detail: pods.length ? `${pods.length} pods, none ready (${what})` : `no pods match ${what}`,
              fix: 'fix the selector or namespace in drillbook.config.ts, or start the workload',
            },
      );
    } catch (err) {
      out.push({ name: `target ${name}`, ok: false, detail: (err as Error).message, fix: 'grant list on pods in the namespace' });
    }
  }
  return out;
}

/** Runs every check; stops after the first two when the cluster cannot be reached at all. */
export async function runDoctor(env: KubernetesEnvironment): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(env.kubeconfig, env.context);
    checks.push({ name: 'context', ok: true, detail: `${env.context} → ${serverOf(kc)}` });
  } catch (err) {
    checks.push({
      name: 'context',
      ok: false,
      detail: (err as Error).message,
      fix: `add context '${env.context}' to the kubeconfig, or set kubeconfig/context in drillbook.config.ts`,
    });
    return checks;
  }
  try {
    const v = await kc.makeApiClient(VersionApi).getCode();
    checks.push({ name: 'API server', ok: true, detail: `${v.gitVersion} (${v.platform})` });
  } catch (err) {
    checks.push({
      name: 'API server',
      ok: false,
      detail: `${serverOf(kc)} does not answer: ${apiErrorMessage(err)}`,
      fix: 'check the network path and the credentials',
    });
    return checks;
  }
  for (const group of [crdChecks, accessChecks, monitoringChecks, targetChecks]) for (const c of await group(kc, env)) checks.push(c);
  return checks;
}

/** Pure: the checklist as text, ✓/✗ and the fix under each ✗. */
export function formatDoctor(envName: string, checks: DoctorCheck[]): string {
  const lines = checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${c.ok || !c.fix ? '' : `\n    fix: ${c.fix}`}`);
  const failed = checks.filter((c) => !c.ok).length;
  return `drill doctor --env ${envName}\n${lines.join('\n')}\n${failed ? `${failed} of ${checks.length} checks failed` : `all ${checks.length} checks passed`}`;
}
