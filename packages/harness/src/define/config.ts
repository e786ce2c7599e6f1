// drillbook.config.ts: where evidence goes and which environments exist. Deny by
// default: a drill runs only in an environment named here AND listed by the drill.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { duration, issuesFromZod, strictObject, withFix } from './schema-kit.ts';
import type { DrillbookConfig, DrillPlan, EnvironmentConfig } from './types.ts';

const url = (what: string) => z.string().url({ error: withFix(`${what} must be a URL`, `write it as 'http://127.0.0.1:9090'`) });

const local = strictObject({
  kind: z.literal('local'),
  stage: strictObject({
    replicas: z.number().int().min(2, { error: withFix('the stage runs at least 2 replicas', 'give replicas: 2 or more') }).optional(),
    restartDelay: duration({ allowZero: true }).optional(),
    scrapeInterval: duration().optional(),
    archiveTimeout: duration().optional(),
  }).optional(),
});

const hostTarget = strictObject({
  url: z.string().optional(),
  pidFile: z.string().optional(),
  commandLine: z.string().optional(),
  listenPort: z.number().int().min(1).max(65535).optional(),
  address: z.string().optional(),
});

const hosts = strictObject({
  kind: z.literal('hosts'),
  prometheus: url('prometheus').optional(),
  alertmanager: url('alertmanager').optional(),
  traces: strictObject({ tempo: url('tempo').optional(), jaeger: url('jaeger').optional() }).optional(),
  targets: z.record(z.string(), hostTarget),
});

const kubernetes = strictObject({
  kind: z.literal('kubernetes'),
  context: z.string({ error: withFix('missing context', "name the kubeconfig context, e.g. context: 'stage'") }).min(1),
  namespaces: z
    .array(z.string().min(1), { error: withFix('missing namespaces', "list the namespaces drills may touch, e.g. namespaces: ['intelgraph']") })
    .min(1, { error: withFix('an empty allow-list allows nothing', "list the namespaces drills may touch, e.g. namespaces: ['intelgraph']") }),
  prometheus: z.string().optional(),
  traces: strictObject({ tempo: z.string().optional(), jaeger: z.string().optional() }).optional(),
  targets: z.record(z.string(), strictObject({ selector: z.record(z.string(), z.string()), namespace: z.string().optional(), url: z.string().optional() })),
  load: strictObject({ k6Operator: strictObject({ namespace: z.string() }).optional() }).optional(),
});

const environment = z.unknown().transform((input, ctx): EnvironmentConfig => {
  const kind = (input as { kind?: unknown } | null)?.kind;
  const schema = kind === 'local' ? local : kind === 'hosts' ? hosts : kind === 'kubernetes' ? kubernetes : undefined;
  if (!schema) {
    ctx.addIssue({ code: 'custom', path: ['kind'], message: withFix(`unknown environment kind ${JSON.stringify(kind)}`, "use kind: 'local', 'hosts' or 'kubernetes'") });
    return z.NEVER;
  }
  const parsed = (schema as z.ZodType<EnvironmentConfig>).safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as never);
    return z.NEVER;
  }
  return parsed.data;
});

const configSchema = strictObject({
  evidenceDir: z.string().min(1).optional(),
  environments: z.record(z.string(), environment),
});

export type ConfigInput = z.input<typeof configSchema>;

export const DEFAULT_CONFIG: DrillbookConfig = { evidenceDir: 'evidence-pack', environments: { local: { kind: 'local' } } };

export function defineConfig(input: ConfigInput, file?: string): DrillbookConfig & { kind: 'config'; name: string } {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, () => 'see API-SKETCH.md, drillbook.config.ts'));
  return { kind: 'config', name: 'config', evidenceDir: parsed.data.evidenceDir ?? 'evidence-pack', environments: parsed.data.environments };
}

/**
 * Deny by default: the environment must exist in the config and be allowed by the drill;
 * on Kubernetes every namespace a target uses must be on the allow-list.
 */
export function resolveEnvironment(plan: DrillPlan, envName: string, config: DrillbookConfig, configFile = 'drillbook.config.ts'): EnvironmentConfig {
  const env = config.environments[envName];
  if (!env)
    throw new DefinitionError(configFile, [
      { path: `environments.${envName}`, problem: `no environment named '${envName}'`, fix: `use one of ${Object.keys(config.environments).join(', ')}, or add '${envName}' to environments in ${configFile}` },
    ]);
  if (!plan.environments.includes(envName))
    throw new DefinitionError(plan.source, [
      { path: 'environments', problem: `drill '${plan.name}' is not allowed in environment '${envName}' (it allows ${plan.environments.join(', ')})`, fix: `add '${envName}' to the drill's environments if it is meant to run there` },
    ]);
  if (env.kind === 'kubernetes') {
    for (const [name, t] of Object.entries(env.targets)) {
      if (t.namespace && !env.namespaces.includes(t.namespace))
        throw new DefinitionError(configFile, [
          { path: `environments.${envName}.targets.${name}.namespace`, problem: `namespace '${t.namespace}' is not on the allow-list (${env.namespaces.join(', ')})`, fix: `add it to environments.${envName}.namespaces, or point the target at an allowed namespace` },
        ]);
    }
  }
  return env;
}
