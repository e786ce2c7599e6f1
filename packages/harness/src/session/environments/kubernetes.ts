// The `kubernetes` environment: a cluster reached through its API server with the configured
// kubeconfig context (never another). Targets are label selectors resolving to pods; HTTP to a
// target without a `url` goes through the API server's pod proxy to one ready pod; Prometheus,
// Alertmanager and Tempo/Jaeger are URLs or Services reached through the service proxy; faults
// are Chaos Mesh objects (faults/chaos-mesh). Alerts are Prometheus' own alert state, polled.
import { randomBytes } from 'node:crypto';
import type { KubernetesEnvironment, UrlOrService } from '../../define/config.ts';
import type { DrillPlan } from '../../define/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { ApiServerForwarder, parseServiceRef, podProxyPath, serviceProxyPath, type ProxyRoute } from '../../kubernetes/api-proxy.ts';
import { apiErrorMessage, labelSelector, loadKubeConfig, serverOf } from '../../kubernetes/client.ts';
import { listPods, podPort } from '../../kubernetes/pods.ts';
import { clusterChecks } from '../../kubernetes/checks.ts';
import { sweepChaosObjects } from '../../faults/chaos-mesh/leftovers.ts';
import { PrometheusClient } from '../../observe/prometheus.ts';
import { selectTraceSource } from '../../observe/trace-backends.ts';
import type { OpenEnvironment, OpenOptions } from '../environment.ts';
import { fixedWebhook, openTelemetry } from './telemetry.ts';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** A target's pods behind the pod proxy: one ready pod, remembered until a request to it fails. */
function podRoute(kc: KubeConfig, name: string, target: KubernetesEnvironment['targets'][string], namespace: string): ProxyRoute {
  let chosen: string | undefined;
  return {
    describe: `target '${name}' (pods with ${labelSelector(target.selector)} in ${namespace})`,
    async base() {
      if (chosen) return chosen;
      const pods = await listPods(kc, namespace, target.selector);
      // A ready pod when there is one; else a running one, as a port-forward would still reach it: the
      // drill then sees the service's own answer (its 5xx counted by its metrics), not a refusal of ours.
      const pod = pods.find((p) => p.ready) ?? pods.find((p) => p.phase === 'Running');
      if (!pod) throw new Error(`no running pod (${pods.length} found${pods.length ? `: ${pods.map((p) => `${p.name} ${p.phase}`).join(', ')}` : ''})`);
      const port = podPort(pod, target.port);
      if (port === undefined)
        throw new Error(`pod ${pod.name} declares no port${typeof target.port === 'string' ? ` named '${target.port}'` : ''}; set the target's port`);
      chosen = podProxyPath(namespace, pod.name, port);
      return chosen;
    },
    invalidate() {
      chosen = undefined;
    },
  };
}

/** A value kept in a Secret of the target's namespace (a database URL with its password): read once, never logged. */
async function readSecretValue(kc: KubeConfig, namespace: string, name: string, key: string): Promise<string> {
  let secret;
  try {
    secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  } catch (err) {
    throw new EnvironmentError(
      `Secret ${namespace}/${name} could not be read: ${apiErrorMessage(err)} (grant get on secrets, or give the target's url in the config)`,
    );
  }
  const value = secret.data?.[key];
  if (!value) throw new EnvironmentError(`Secret ${namespace}/${name} has no key '${key}' (it has ${Object.keys(secret.data ?? {}).join(', ') || 'none'})`);
  return Buffer.from(value, 'base64').toString('utf8');
}

function serviceRoute(ref: string): ProxyRoute {
  const { namespace, name, port } = parseServiceRef(ref);
  const path = serviceProxyPath(namespace, name, port);
  return { describe: `service ${ref}`, base: async () => path };
}

export async function openKubernetes(name: string, config: KubernetesEnvironment, opts: OpenOptions): Promise<OpenEnvironment> {
  // The configured context or nothing: refused here, before any call, when the kubeconfig lacks it.
  const kc = loadKubeConfig(config.kubeconfig, config.context);
  const server = serverOf(kc);
  // One secret per run guards the forwarders to the monitoring services (see kubernetes/api-proxy.ts).
  const monitoringAuth = { username: 'drillbook', password: randomBytes(18).toString('base64url') };
  const authorization = `Basic ${Buffer.from(`${monitoringAuth.username}:${monitoringAuth.password}`).toString('base64')}`;
  const forwarders: ApiServerForwarder[] = [];
  const forward = async (route: ProxyRoute, guarded: boolean) => {
    const f = new ApiServerForwarder(kc, route, guarded ? { requireAuthorization: authorization } : {});
    forwarders.push(f);
    return f.listen();
  };
  const closeForwarders = () => Promise.all(forwarders.map((f) => f.close()));
  /** A URL as given, or a guarded forwarder to the Service. */
  const endpoint = async (v: UrlOrService | undefined) =>
    v === undefined ? undefined : typeof v === 'string' ? { url: v, proxied: false } : { url: await forward(serviceRoute(v.service), true), proxied: true };

  let t: Awaited<ReturnType<typeof openTelemetry>> | undefined;
  try {
    const prom = await endpoint(config.prometheus);
    const prometheus = prom ? new PrometheusClient(prom.url, undefined, prom.proxied ? monitoringAuth : undefined) : undefined;
    const alertmanager = await endpoint(config.alertmanager);
    const tempo = await endpoint(config.traces?.tempo);
    const jaeger = await endpoint(config.traces?.jaeger);
    const targetUrls: Record<string, string> = {};
    for (const [target, spec] of Object.entries(config.targets)) {
      const namespace = spec.namespace ?? config.namespaces[0]!;
      targetUrls[target] =
        typeof spec.url === 'string'
          ? spec.url
          : spec.url
            ? await readSecretValue(kc, namespace, spec.url.secret, spec.url.key)
            : await forward(podRoute(kc, target, spec, namespace), false);
    }

    t = await openTelemetry(opts.clock, prometheus, [], fixedWebhook(config));
    const telemetry = t;
    const traceHeaders = tempo?.proxied || jaeger?.proxied ? { authorization } : undefined;
    const lookup = (target: string) => {
      const spec = config.targets[target];
      if (!spec) throw new EnvironmentError(`environment '${name}' has targets ${Object.keys(config.targets).join(', ')}; there is no '${target}'`);
      return { kind: 'kubernetes' as const, name: target, namespace: spec.namespace ?? config.namespaces[0]!, ...spec, url: targetUrls[target]! };
    };
    return {
      name,
      config,
      prometheus,
      ...t.receivers,
      receiverFacts: () => ({ ...telemetry.receiverFacts(), apiServerProxy: Object.fromEntries(forwarders.map((f) => [f.route.describe, { ...f.stats }])) }),
      traceSource: selectTraceSource({ tempo: tempo?.url, jaeger: jaeger?.url }, t.traces, traceHeaders),
      targetUrl: (target) => {
        return lookup(target).url;
      },
      databaseUrl: (target) => {
        const url = lookup(target).url;
        if (!url?.startsWith('postgres'))
          throw new EnvironmentError(
            `target '${target}' of environment '${name}' has no database URL: SQL probes and migrations need one (a port-forward or an in-cluster address, e.g. url: 'postgres://drill@graph-db.intelgraph:5432/graph')`,
          );
        return url;
      },
      resolveTarget: lookup,
      ...(alertmanager ? { alertmanager: { url: alertmanager.url, headers: alertmanager.proxied ? { authorization } : {} } } : {}),
      urls: {
        apiServer: server,
        ...(prom ? { prometheus: prom.url } : {}),
        ...(alertmanager ? { alertmanager: alertmanager.url } : {}),
        telemetry: t.telemetryUrl,
        // The forwarders only: a URL read from a Secret carries a password and stays out of the record.
        ...Object.fromEntries(Object.entries(config.targets).flatMap(([k, spec]) => (spec.url ? [] : [[`target.${k}`, targetUrls[k]!]]))),
      },
      facts: { kubernetes: { context: config.context, server } },
      preflight: (plan: DrillPlan) => clusterChecks(kc, config, plan),
      sweepRun: async (runId) => {
        const swept = await sweepChaosObjects(config, { runId });
        if (swept.failed.length)
          throw new EnvironmentError(`chaos objects of run ${runId} could not be deleted: ${swept.failed.map((f) => `${f.object}: ${f.error}`).join('; ')}`);
        return swept.deleted;
      },
      readyReplicas: async (target) => {
        const t = lookup(target);
        const pods = await listPods(kc, t.namespace, t.selector);
        return { ready: pods.filter((p) => p.ready).length, total: pods.length };
      },
      async close() {
        await telemetry.close();
        await closeForwarders();
      },
    };
  } catch (err) {
    await t?.close();
    await closeForwarders();
    throw err;
  }
}
