// drillbook.config.ts: where evidence goes and which environments exist. Deny by
// default: a drill runs only in an environment named here AND listed by the drill.
// Each field is declared once, here: the input type and the environments' plan types
// are derived from these schemas.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { byKind, duration, issuesFromZod, strictObject, withFix } from './schema-kit.ts';
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

const hostTarget = strictObject({
  /** Base URL of the target's HTTP API (probes and load go here). */
  url: z.string().optional(),
  /** A pid file naming the process to kill or pause. */
  pidFile: z.string().optional(),
  /** A command-line match naming the process to kill or pause (the harness's own processes are left out). */
  commandLine: z.string().optional(),
  /** The TCP port the process listens on: a pid file (or command-line match) that names a process not listening there is refused. */
  listenPort: z.number().int().min(1).max(65535).optional(),
  /** host:port of a dependency that a proxy can be put in front of. */
  address: z.string().optional(),
});

/** Base URLs of a trace store's query API: Tempo (:3200) or Jaeger query (:16686). */
const traceBackends = (check: (what: string) => z.ZodString) =>
  strictObject({
    /** Tempo's query API, e.g. 'http://tempo:3200'. */
    tempo: check('tempo').optional(),
    /** Jaeger query's API, e.g. 'http://jaeger:16686'. */
    jaeger: check('jaeger').optional(),
  });

const hosts = strictObject({
  /** Services already running on hosts the harness can reach; faults act on local processes and proxies. */
  kind: z.literal('hosts'),
  /** Prometheus' base URL. */
  prometheus: url('prometheus').optional(),
  /** Alertmanager's base URL. */
  alertmanager: url('alertmanager').optional(),
  /** Where the service's traces can be read back. @default the harness's own OTLP receiver */
  traces: traceBackends(url).optional(),
  /** The targets drills name (`api`, `db`, …). */
  targets: z.record(z.string(), hostTarget),
});

const kubernetesTarget = strictObject({
  /** Pod labels that select the target's pods. */
  selector: z.record(z.string(), z.string()),
  /** The pods' namespace; must be on the environment's allow-list. */
  namespace: z.string().optional(),
  /** Base URL of the target's HTTP API (probes and load go here). */
  url: z.string().optional(),
});

const kubernetes = strictObject({
  /** A Kubernetes cluster: faults through Chaos Mesh, load through the k6-operator. */
  kind: z.literal('kubernetes'),
  /** The kubeconfig context to use. */
  context: z.string({ error: withFix('missing context', "name the kubeconfig context, e.g. context: 'stage'") }).min(1),
  /** The allow-list: a drill touches these namespaces and no other. */
  namespaces: z
    .array(z.string().min(1), { error: withFix('missing namespaces', "list the namespaces drills may touch, e.g. namespaces: ['intelgraph']") })
    .min(1, { error: withFix('an empty allow-list allows nothing', "list the namespaces drills may touch, e.g. namespaces: ['intelgraph']") }),
  /** Prometheus' base URL as the harness reaches it. */
  prometheus: z.string().optional(),
  /** Where the service's traces can be read back. @default the harness's own OTLP receiver */
  traces: traceBackends(() => z.string()).optional(),
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

const environment = byKind('kind', { local, hosts, kubernetes }, (kind) => ({
  path: ['kind'],
  message: withFix(`unknown environment kind ${JSON.stringify(kind)}`, "use kind: 'local', 'hosts' or 'kubernetes'"),
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
export type KubernetesTarget = z.output<typeof kubernetesTarget>;
export type KubernetesEnvironment = z.output<typeof kubernetes>;
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
