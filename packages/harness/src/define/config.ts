// drillbook.config.ts: where evidence goes and which environments exist. Deny by
// default: a drill runs only in an environment named here AND listed by the drill.
// Each field is declared once, here: the input type and the environments' plan types
// are derived from these schemas.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { byKind, duration, issuesFromZod, strictObject, withFix } from './schema-kit.ts';
import { listenAddress, parseHostPort } from './host-port.ts';
import type { DrillPlan } from './types.ts';

const url = (what: string) => z.string().url({ error: withFix(`${what} must be a URL`, `write it as 'http://127.0.0.1:9090'`) });

const local = strictObject({
  /** The embedded stage this repository starts on loopback (PostgreSQL, Prometheus, Alertmanager, the service). */
  kind: z.literal('local'),
  /** Stage options. */
  stage: strictObject({
    /** Replicas of the service behind the stage's balancer, at least 2. @default 2 */
    replicas: z
      .number()
      .int()
      .min(2, { error: withFix('the stage runs at least 2 replicas', 'give replicas: 2 or more') })
      .optional(),
    /** How long the supervisor waits before restarting a killed replica: '5s' or milliseconds. */
    restartDelay: duration({ allowZero: true }).optional(),
    /** Prometheus' scrape interval: '1s' or milliseconds, above 0. */
    scrapeInterval: duration().optional(),
    /** PostgreSQL's archive_timeout (how often WAL is archived when idle): '5s' or milliseconds, above 0. */
    archiveTimeout: duration().optional(),
    /**
     * How much synthetic healthy history Prometheus starts with (the drill's load rate, no errors), so
     * burn-rate windows hold a past as in production: '1h', or '0' for none.
     * @default the longest window of the alerts the drill expects, at most 6h
     */
    history: duration({ allowZero: true }).optional(),
  }).optional(),
});

/** A TCP fault proxy the harness runs in front of a hosts target for the whole run (docs/environments.md). */
const hostProxy = strictObject({
  /**
   * Where the proxy listens, 'host:port': point the team's clients or balancer here. A loopback
   * address ('127.0.0.1:18080'), or another IP of this machine written on purpose; never a
   * wildcard (0.0.0.0, ::) or a host name. Nothing listens there between runs.
   */
  listen: z.string(),
  /** Where the proxy forwards to: 'host:port' of the real service. @default the target's `address` */
  upstream: z.string().optional(),
});

const hostTargetFields = strictObject({
  /** Base URL of the target's HTTP API (probes and load go here); with `proxy`, name its listen address so probes see what clients see. @default 'http://' + proxy.listen */
  url: z.string().optional(),
  /** A pid file naming the process to kill or pause. */
  pidFile: z.string().optional(),
  /** A command-line match naming the process to kill or pause (the harness's own processes are left out). */
  commandLine: z.string().optional(),
  /** The TCP port the process listens on: a pid file (or command-line match) that names a process not listening there is refused. */
  listenPort: z.number().int().min(1).max(65535).optional(),
  /** host:port where the target's own service listens (e.g. a database's '10.0.0.7:5432'); the default of `proxy.upstream`. Alone it changes nothing: network faults need `proxy`. */
  address: z.string().optional(),
  /** The harness's TCP fault proxy in front of this target: network and dependency-outage faults on it act there. @default none: network faults are refused */
  proxy: hostProxy.optional(),
});

const hostTarget = hostTargetFields
  .superRefine((t, ctx) => {
    for (const i of hostTargetIssues(t)) ctx.addIssue({ code: 'custom', path: i.path, message: withFix(i.problem, i.fix) });
  })
  // With a proxy, url defaults to its listen address and upstream to address (both checked above).
  .transform(({ proxy, ...t }): WithProxyDefaults<z.output<typeof hostTargetFields>> =>
    proxy ? { ...t, url: t.url ?? `http://${proxy.listen}`, proxy: { listen: proxy.listen, upstream: proxy.upstream ?? t.address ?? '' } } : t,
  );

/** A hosts target as the engine sees it: its proxy's upstream always filled in. */
type WithProxyDefaults<T extends { proxy?: unknown }> = { [K in keyof T]: K extends 'proxy' ? { listen: string; upstream: string } | undefined : T[K] };

/** Pure: what is wrong with a hosts target's address and proxy, by field. */
function hostTargetIssues(t: z.output<typeof hostTargetFields>): Array<{ path: string[]; problem: string; fix: string }> {
  const out: Array<{ path: string[]; problem: string; fix: string }> = [];
  if (t.address !== undefined && !parseHostPort(t.address))
    out.push({ path: ['address'], problem: `'${t.address}' is not host:port`, fix: "write it as '10.0.0.7:5432' or '[::1]:5432'" });
  if (!t.proxy) return out;
  const listen = listenAddress(t.proxy.listen);
  if ('problem' in listen) out.push({ path: ['proxy', 'listen'], problem: listen.problem, fix: listen.fix });
  const upstream = t.proxy.upstream ?? t.address;
  if (upstream === undefined)
    out.push({
      path: ['proxy', 'upstream'],
      problem: 'the proxy has nowhere to forward to',
      fix: "give upstream: 'host:port' of the real service (or the target's address)",
    });
  else if (t.proxy.upstream !== undefined && !parseHostPort(t.proxy.upstream))
    out.push({ path: ['proxy', 'upstream'], problem: `'${t.proxy.upstream}' is not host:port`, fix: "write it as '127.0.0.1:8080'" });
  else if (t.proxy.upstream !== undefined && t.address !== undefined && t.proxy.upstream !== t.address)
    out.push({
      path: ['proxy', 'upstream'],
      problem: `upstream '${t.proxy.upstream}' differs from the target's address '${t.address}'`,
      fix: 'give the real service once: drop upstream (it defaults to address) or make them equal',
    });
  if ('ok' in listen && upstream !== undefined && upstream === t.proxy.listen)
    out.push({ path: ['proxy', 'listen'], problem: 'the proxy would forward to itself', fix: 'listen on a port of its own and forward to the real service' });
  return out;
}

/** Base URLs of a trace store's query API: Tempo (:3200) or Jaeger query (:16686). */
const traceBackends = (check: (what: string) => z.ZodString) =>
  strictObject({
    /** Tempo's query API, e.g. 'http://tempo:3200'. */
    tempo: check('tempo').optional(),
    /** Jaeger query's API, e.g. 'http://jaeger:16686'. */
    jaeger: check('jaeger').optional(),
  });

/** A fixed address for a team's Alertmanager to deliver to a drill (the run's own would change every run). */
const alertWebhook = strictObject({
  /** The loopback port the harness's alert webhook listens on (path /alertmanager), 1024–65535. */
  port: z.number().int().min(1024).max(65535),
  /** A file (mode 600, relative to the project root) holding the bearer token Alertmanager sends (its http_config.authorization). */
  tokenFile: z.string().min(1),
});

const hosts = strictObject({
  /** Services already running on hosts the harness can reach; faults act on local processes and proxies. */
  kind: z.literal('hosts'),
  /** Prometheus' base URL. */
  prometheus: url('prometheus').optional(),
  /** Alertmanager's base URL. */
  alertmanager: url('alertmanager').optional(),
  /** Where the team's Alertmanager delivers to a drill: `{ port, tokenFile }` (http://127.0.0.1:<port>/alertmanager). Default: none, alerts are polled from Prometheus. */
  alertWebhook: alertWebhook.optional(),
  /** Where the service's traces can be read back. @default the harness's own OTLP receiver */
  traces: traceBackends(url).optional(),
  /** The targets drills name (`api`, `db`, …). */
  targets: z.record(z.string(), hostTarget),
});

/** `namespace/name:port` of a Service, reached through the API server's service proxy. */
const serviceRef = (what: string) =>
  strictObject({
    /** The Service as `namespace/name:port`, e.g. 'monitoring/prometheus-k8s:9090'. */
    service: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?:[0-9a-z-]+$/, {
      error: withFix(`${what}.service must be 'namespace/name:port'`, `write it as { service: 'monitoring/${what}:9090' }`),
    }),
  });

/** A URL the harness reaches directly, or a Service reached through the API server (no port-forward to keep alive). */
const urlOrService = (what: string) => z.union([z.string().min(1), serviceRef(what)]);

const kubernetesTarget = strictObject({
  /** Pod labels that select the target's pods. */
  selector: z.record(z.string(), z.string()),
  /** The pods' namespace; must be on the environment's allow-list. */
  namespace: z.string().optional(),
  /**
   * Base URL of the target's HTTP API (probes and load go here), or a database URL (`postgres://…`, for SQL
   * probes and migrations) — given here or read from a Secret in the target's namespace:
   * `{ secret: 'graph-db-drill', key: 'url' }`. Without it, HTTP goes through the API server's pod proxy to
   * one ready pod, chosen again when that pod goes away.
   */
  url: z
    .union([
      z.string(),
      strictObject({
        /** A Secret in the target's namespace. */
        secret: z.string().min(1),
        /** The key in the Secret's data holding the URL. @default 'url' */
        key: z.string().min(1).default('url'),
      }),
    ])
    .optional(),
  /** The pods' HTTP port (a number or the port's name) when `url` is not given. @default the first container port */
  port: z.union([z.number().int().min(1).max(65535), z.string().min(1)]).optional(),
});

const kubernetes = strictObject({
  /** A Kubernetes cluster: faults through Chaos Mesh, load through the embedded runner or the k6-operator. */
  kind: z.literal('kubernetes'),
  /** A kubeconfig file, relative to the project root. @default $KUBECONFIG, else ~/.kube/config */
  kubeconfig: z.string().min(1).optional(),
  /** The kubeconfig context to use; the run refuses any other. */
  context: z.string({ error: withFix('missing context', "name the kubeconfig context, e.g. context: 'stage'") }).min(1),
  /** The allow-list: a drill touches these namespaces and no other. */
  namespaces: z
    .array(z.string().min(1), { error: withFix('missing namespaces', "list the namespaces drills may touch, e.g. namespaces: ['intelgraph']") })
    .min(1, { error: withFix('an empty allow-list allows nothing', "list the namespaces drills may touch, e.g. namespaces: ['intelgraph']") }),
  /** Prometheus: its base URL as the harness reaches it, or `{ service: 'monitoring/prometheus:9090' }`. */
  prometheus: urlOrService('prometheus').optional(),
  /** Alertmanager (its health and `/api/v2/alerts`): a base URL or `{ service: 'monitoring/alertmanager:9093' }`. */
  alertmanager: urlOrService('alertmanager').optional(),
  /** Where the cluster's Alertmanager delivers to a drill: `{ port, tokenFile }` (http://127.0.0.1:<port>/alertmanager, through a tunnel from the cluster). Default: none, alerts are polled from Prometheus. */
  alertWebhook: alertWebhook.optional(),
  /** Where the service's traces can be read back: Tempo or Jaeger, each a URL or a Service. @default the harness's own OTLP receiver */
  traces: strictObject({
    /** Tempo's query API, e.g. 'http://tempo:3200' or { service: 'monitoring/tempo:3200' }. */
    tempo: urlOrService('tempo').optional(),
    /** Jaeger query's API, e.g. 'http://jaeger:16686' or { service: 'monitoring/jaeger-query:16686' }. */
    jaeger: urlOrService('jaeger').optional(),
  }).optional(),
  /** The targets drills name (`api`, `db`, …). */
  targets: z.record(z.string(), kubernetesTarget),
  /** How load runs in the cluster. */
  load: strictObject({
    /** Run load profiles as k6-operator TestRuns. */
    k6Operator: strictObject({
      /** The namespace the TestRuns are created in. */
      namespace: z.string(),
    }).optional(),
  }).optional(),
});

/**
 * A placeholder in a container's environment: `{port:NAME}` (the loopback port this replica
 * listens on for its port NAME), `{address:SERVICE.PORT}` (host:port of a dependency's port,
 * through the harness's fault proxy), `{otlp:url}` and `{otlp:authorization}` (the harness's
 * OTLP traces receiver and the header value it wants).
 */
export const CONTAINER_PLACEHOLDER = /\{(port|address|otlp):([a-z0-9][a-z0-9.-]*)\}/g;

const portName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, { error: withFix('a port name is lower-case letters, digits and dashes', "name it e.g. 'http' or 'metrics'") });

const containerService = strictObject({
  /** The image to run, built or loaded on this machine (nothing is pulled), e.g. 'team/api:pr-123'. */
  image: z.string({ error: withFix('missing image', "name a local image, e.g. image: 'team/api:dev'") }).min(1),
  /** The command (argv) when not the image's own. */
  command: z.array(z.string()).optional(),
  /**
   * The container's environment. Values may hold `{port:http}` (the port this replica must listen on,
   * on 127.0.0.1), `{address:db.pg}` (host:port of a dependency's port, through the harness's fault
   * proxy), `{otlp:url}` and `{otlp:authorization}` (the harness's OTLP traces receiver and its header).
   */
  env: z.record(z.string(), z.string()).optional(),
  /**
   * The ports the service listens on, by name. Containers share the host's network: each replica gets
   * its own loopback port per name, chosen for the run and handed over through `{port:NAME}`. `http` is
   * where probes and load go (through the harness's balancer); `metrics` is scraped by Prometheus.
   */
  ports: z.array(portName).min(1, { error: withFix('an empty ports list', "name at least one port, e.g. ports: ['http']") }),
  /** When a replica counts as started: an HTTP path answering 2xx on one of its ports, or a line in its log. */
  health: strictObject({
    /** A path on `port` that answers 2xx once the replica is ready, e.g. '/healthz'. */
    http: z
      .string()
      .startsWith('/', { error: withFix('the health path must start with /', "write e.g. http: '/healthz'") })
      .optional(),
    /** The port (by name) the health path is asked on. @default the first of `ports` */
    port: portName.optional(),
    /** Text the replica writes to its log once ready, e.g. 'ready to accept connections'. */
    log: z.string().min(1).optional(),
  }).optional(),
  /** Replicas, behind the harness's loopback balancer. @default 1 */
  replicas: z
    .number()
    .int()
    .min(1, { error: withFix('at least one replica', 'give replicas: 1 or more') })
    .max(16, { error: withFix('more than 16 replicas', 'give replicas: 16 or fewer') })
    .optional(),
  /** Docker's restart policy: with 'always' or 'on-failure' a killed container is brought back by Docker; with 'no' it stays down. @default 'always' */
  restart: z.enum(['always', 'on-failure', 'no'], { error: withFix('unknown restart policy', "use restart: 'always', 'on-failure' or 'no'") }).optional(),
  /** Services started (and healthy) before this one; its traffic to them passes through the harness's fault proxy. */
  dependsOn: z.array(z.string()).optional(),
  /** The user the container runs as (uid[:gid] or a name in the image), e.g. for PostgreSQL, which refuses root. */
  user: z.string().optional(),
  /** How long a replica may take to become healthy: '30s' or milliseconds. @default '60s' */
  startupTimeout: duration().optional(),
});

const containers = strictObject({
  /** Services from the team's own images, run on this machine's Docker engine by testcontainers (no registry, no cluster). */
  kind: z.literal('containers'),
  /** The services by name; each name is a target drills use (`api`, `db`, …). */
  services: z.record(z.string(), containerService),
  /**
   * Prometheus and Alertmanager: 'stage' starts the local stage's (host processes on loopback) with the
   * project's alert rules, scraping every service's `metrics` port; 'none' runs without them.
   * @default 'stage'
   */
  monitoring: z.enum(['stage', 'none'], { error: withFix('unknown monitoring', "use monitoring: 'stage' or 'none'") }).optional(),
}).superRefine((env, ctx) => {
  const services = Object.keys(env.services);
  for (const [name, s] of Object.entries(env.services)) {
    const at = (...path: (string | number)[]) => ['services', name, ...path];
    for (const [i, dep] of (s.dependsOn ?? []).entries()) {
      if (dep === name || !env.services[dep])
        ctx.addIssue({
          code: 'custom',
          path: at('dependsOn', i),
          message: withFix(`'${dep}' is not another service of this environment`, `use one of ${services.filter((n) => n !== name).join(', ') || '(none)'}`),
        });
    }
    const healthPort = s.health?.port;
    if (healthPort && !s.ports.includes(healthPort))
      ctx.addIssue({ code: 'custom', path: at('health', 'port'), message: withFix(`no port named '${healthPort}'`, `use one of ${s.ports.join(', ')}`) });
    if (s.health && (s.health.http === undefined) === (s.health.log === undefined))
      ctx.addIssue({
        code: 'custom',
        path: at('health'),
        message: withFix('health needs exactly one of http and log', "write health: { http: '/healthz' } or health: { log: 'ready' }"),
      });
    for (const [key, value] of Object.entries(s.env ?? {}))
      for (const [, kind, arg] of value.matchAll(CONTAINER_PLACEHOLDER)) {
        const [dep, port] = arg!.split('.');
        const problem =
          kind === 'port' && !s.ports.includes(arg!)
            ? `{port:${arg}} names no port of '${name}' (it has ${s.ports.join(', ')})`
            : kind === 'address' && (!dep || !port || !(s.dependsOn ?? []).includes(dep) || !env.services[dep]?.ports.includes(port))
              ? `{address:${arg}} is not SERVICE.PORT of a service '${name}' depends on`
              : kind === 'otlp' && arg !== 'url' && arg !== 'authorization'
                ? `{otlp:${arg}} is neither {otlp:url} nor {otlp:authorization}`
                : undefined;
        if (problem)
          ctx.addIssue({
            code: 'custom',
            path: at('env', key),
            message: withFix(problem, "see the placeholders in docs/containers.md, e.g. '{address:db.pg}' with dependsOn: ['db']"),
          });
      }
  }
  const cycle = dependencyCycle(env.services);
  if (cycle)
    ctx.addIssue({
      code: 'custom',
      path: ['services'],
      message: withFix(`services depend on each other in a cycle: ${cycle.join(' → ')}`, 'drop one dependsOn entry of the cycle'),
    });
});

/** A dependsOn cycle among services, as the names along it, or undefined. */
function dependencyCycle(services: Record<string, { dependsOn?: string[] | undefined }>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (state.get(name) === 'done' || !services[name]) return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const dep of services[name].dependsOn ?? []) {
      const found = visit(dep, [...path, name]);
      if (found) return found;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(services)) {
    const found = visit(name, []);
    if (found) return found;
  }
  return undefined;
}

const environment = byKind('kind', { local, hosts, kubernetes, containers }, (kind) => ({
  path: ['kind'],
  message: withFix(`unknown environment kind ${JSON.stringify(kind)}`, "use kind: 'local', 'hosts', 'kubernetes' or 'containers'"),
}));

const configSchema = strictObject({
  /** Where evidence packs are written, relative to the project root. @default 'evidence-pack' */
  evidenceDir: z.string().min(1).default('evidence-pack'),
  /** The environments drills may run in, by name (`local`, `stage`, …); deny by default. */
  environments: z.record(z.string(), environment),
});

/** drillbook.config.ts as written: what defineConfig takes. */
export type ConfigInput = z.input<typeof configSchema>;

// The plan types of environments are exactly what these schemas output (durations in ms);
// types.ts re-exports them for the engine.
export type LocalEnvironment = z.output<typeof local>;
export type HostTarget = z.output<typeof hostTarget>;
export type HostsEnvironment = z.output<typeof hosts>;
export type TraceBackends = NonNullable<HostsEnvironment['traces']>;
/** A URL, or a Service reached through the API server's proxy. */
export type UrlOrService = z.output<ReturnType<typeof urlOrService>>;
export type KubernetesTarget = z.output<typeof kubernetesTarget>;
export type KubernetesEnvironment = z.output<typeof kubernetes>;
export type ContainerService = z.output<typeof containerService>;
export type ContainersEnvironment = z.output<typeof containers>;
export type EnvironmentConfig = z.output<typeof environment>;
export type DrillbookConfig = z.output<typeof configSchema>;

export const DEFAULT_CONFIG: DrillbookConfig = { evidenceDir: 'evidence-pack', environments: { local: { kind: 'local' } } };

export function defineConfig(input: ConfigInput, file?: string): DrillbookConfig & { kind: 'config'; name: string } {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success)
    throw new DefinitionError(
      file,
      issuesFromZod(parsed.error, () => 'see defineConfig in docs/definitions.md and docs/environments.md'),
    );
  return { kind: 'config', name: 'config', evidenceDir: parsed.data.evidenceDir, environments: parsed.data.environments };
}

/**
 * Deny by default: the environment must exist in the config and be allowed by the drill;
 * on Kubernetes every namespace a target uses must be on the allow-list.
 */
export function resolveEnvironment(plan: DrillPlan, envName: string, config: DrillbookConfig, configFile = 'drillbook.config.ts'): EnvironmentConfig {
  const env = config.environments[envName];
  if (!env)
    throw new DefinitionError(configFile, [
      {
        path: `environments.${envName}`,
        problem: `no environment named '${envName}'`,
        fix: `use one of ${Object.keys(config.environments).join(', ')}, or add '${envName}' to environments in ${configFile}`,
      },
    ]);
  if (!plan.environments.includes(envName))
    throw new DefinitionError(plan.source, [
      {
        path: 'environments',
        problem: `drill '${plan.name}' is not allowed in environment '${envName}' (it allows ${plan.environments.join(', ')})`,
        fix: `add '${envName}' to the drill's environments if it is meant to run there`,
      },
    ]);
  if (env.kind === 'kubernetes') {
    for (const [name, t] of Object.entries(env.targets)) {
      if (t.namespace && !env.namespaces.includes(t.namespace))
        throw new DefinitionError(configFile, [
          {
            path: `environments.${envName}.targets.${name}.namespace`,
            problem: `namespace '${t.namespace}' is not on the allow-list (${env.namespaces.join(', ')})`,
            fix: `add it to environments.${envName}.namespaces, or point the target at an allowed namespace`,
          },
        ]);
    }
  }
  return env;
}
