// Step 1 of a run: everything that can be checked before anything starts. The dry run and the
// real run both call this, so a dry run accepts exactly what a real run accepts. A mistake is a
// DefinitionError (exit 2) naming the file, the field and the fix.
import { isAbsolute, join, resolve } from 'node:path';
import { resolveEnvironment } from '../../define/config.ts';
import { DefinitionError, type DefinitionIssue } from '../../define/errors.ts';
import { loadConfig, loadDefinitions, pickDrill } from '../../project/loader.ts';
import { isSloDefinition } from '../../define/slo.ts';
import type { DefinedDrill, DrillbookConfig, DrillPlan, EnvironmentConfig } from '../../define/types.ts';
import { chaosMeshProvider } from '../../faults/chaos-mesh/provider.ts';
import { containerProviders, localProviders, ProviderRegistry } from '../../faults/registry.ts';
import { hostProxyIssues } from '../../faults/local/host-proxy.ts';
import type { SloTarget } from '../../measure/run.ts';
import { LOCAL_STAGE_TARGET_KINDS } from '../environment.ts';
import { remediationIssues } from '../remediation.ts';

export interface PrepareOptions {
  file: string;
  drillName?: string;
  /** Not given: the drill's own environment when it allows exactly one, else 'local'. */
  environment?: string | undefined;
  projectRoot: string;
}

export interface PreparedRun {
  file: string;
  drill: DefinedDrill;
  plan: DrillPlan;
  environmentName: string;
  envConfig: EnvironmentConfig;
  evidenceDir: string;
  registry: ProviderRegistry;
  /** The provider chosen for each fault phase, by phase name. */
  providersByPhase: Record<string, string>;
  /** Every SLO the drill declared (stop conditions and checks), by id. */
  slos: Record<string, SloTarget>;
}

export function providerRegistry(): ProviderRegistry {
  return new ProviderRegistry([...localProviders, ...containerProviders, chaosMeshProvider()]);
}

/** The SLOs a drill imported, with the objective and period each declares. */
export function declaredSlos(drill: DefinedDrill): Record<string, SloTarget> {
  const out: Record<string, SloTarget> = {};
  for (const [id, slo] of Object.entries(drill.uses.slos))
    if (isSloDefinition(slo))
      out[id] = {
        objective: slo.objective,
        periodMs: slo.period,
        // What the SLI counts as bad, so an episode's SLO impact can be judged from the load's samples.
        sli: slo.sli.kind === 'latency' ? { kind: 'latency', thresholdMs: Math.round(slo.sli.thresholdSeconds * 1000) } : { kind: 'ratio' },
      };
  return out;
}

/** Pure: what the plan asks of an environment that it cannot give, as definition issues. */
export function planIssues(plan: DrillPlan, envConfig: EnvironmentConfig, expectedAlertNames?: ReadonlySet<string>): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  if (plan.restore) {
    if (envConfig.kind !== 'local')
      issues.push({
        path: 'restore',
        problem: `a postgres-pitr restore drill runs on the local stage, not on '${envConfig.kind}'`,
        fix: "write the team's restore script as fault.custom({ inject, revert }) and it is timed the same way",
      });
    else if (LOCAL_STAGE_TARGET_KINDS[plan.restore.database as keyof typeof LOCAL_STAGE_TARGET_KINDS] !== 'stage-database')
      issues.push({
        path: 'restore.database',
        problem: `'${plan.restore.database}' is not the stage's database`,
        fix: "name the local stage's database target, 'db'",
      });
  }
  plan.steadyState.forEach((probe, i) => {
    if (probe.kind === 'k8s' && envConfig.kind !== 'kubernetes' && envConfig.kind !== 'local')
      issues.push({
        path: `steadyState[${i}]`,
        problem: `probe.k8s counts ready replicas, which a '${envConfig.kind}' environment cannot tell`,
        fix: 'probe the target with probe.http instead, or run the drill on a kubernetes or local environment',
      });
  });
  if (expectedAlertNames)
    plan.phases.forEach((phase, i) =>
      (phase.expect?.alerts ?? []).forEach((alert, j) => {
        if (!expectedAlertNames.has(alert))
          issues.push({
            path: `phases[${i}].expect.alerts[${j}]`,
            problem: `no alert named '${alert}' is defined under alerts/, so it can never fire`,
            fix: `define it in alerts/ or use one of: ${[...expectedAlertNames].sort().join(', ') || '(none defined)'}`,
          });
      }),
    );
  return issues;
}

/** Pure: file paths in an environment's config made absolute from the project root (a journal line or a child process may read them elsewhere). */
export function anchoredToProject(env: EnvironmentConfig, projectRoot: string): EnvironmentConfig {
  const anchor = (p: string) => (isAbsolute(p) ? p : resolve(projectRoot, p));
  let out = env;
  if (out.kind === 'kubernetes' && out.kubeconfig) out = { ...out, kubeconfig: anchor(out.kubeconfig) };
  if ((out.kind === 'kubernetes' || out.kind === 'hosts') && out.alertWebhook)
    out = { ...out, alertWebhook: { ...out.alertWebhook, tokenFile: anchor(out.alertWebhook.tokenFile) } };
  return out;
}

/** Pure: the environment a run uses when `--env` was not given. */
export function defaultEnvironment(plan: Pick<DrillPlan, 'environments'>): string {
  return plan.environments.length === 1 ? plan.environments[0]! : 'local';
}

/** Names of every alert the project's alerts/ would load into the local stage's Prometheus. */
async function projectAlertNames(projectRoot: string): Promise<Set<string>> {
  const { loadAlertDefinitions } = await import('../../build/run.ts');
  const { burnAlerts } = await import('../../build/rules.ts');
  const loaded = await loadAlertDefinitions(projectRoot);
  return new Set([...loaded.alerts.map((a) => a.def.name), ...loaded.slos.flatMap((s) => burnAlerts(s.def).map((b) => b.alert))]);
}

/**
 * What a run of `drill` in `environmentName` would be refused for (exit 2), found without running
 * anything: the environment resolved and anchored, a provider per fault, the plan's, the hosts
 * proxies' and the remediation scripts' issues. `prepareRun` and `drill validate` share it.
 */
export async function checkInEnvironment(
  drill: DefinedDrill,
  environmentName: string,
  loadedConfig: { config: DrillbookConfig; file: string | undefined },
  projectRoot: string,
): Promise<{ envConfig: EnvironmentConfig; registry: ProviderRegistry; providersByPhase: Record<string, string>; issues: DefinitionIssue[] }> {
  const { config, file: configFile } = loadedConfig;
  const envConfig = anchoredToProject(resolveEnvironment(drill.plan, environmentName, config, configFile ?? 'drillbook.config.ts'), projectRoot);
  const registry = providerRegistry();
  const providersByPhase: Record<string, string> = {};
  const issues: DefinitionIssue[] = [];
  drill.plan.phases.forEach((phase, i) => {
    if (!phase.fault) return;
    const provider = registry.find(phase.fault, envConfig);
    if (provider) providersByPhase[phase.name] = provider.name;
    else
      issues.push({
        path: `phases[${i}].fault`,
        problem: `no provider can inject a '${phase.fault.kind}' fault in a '${envConfig.kind}' environment ('${environmentName}')`,
        fix: `run it on an environment whose kind supports it, or drop '${environmentName}' from the drill's environments`,
      });
  });
  // Only the local stage loads the project's own alerts/; elsewhere the live rules are checked in preflight.
  const alertNames = envConfig.kind === 'local' && drill.plan.phases.some((p) => p.expect?.alerts?.length) ? await projectAlertNames(projectRoot) : undefined;
  const hostIssues = hostProxyIssues(drill.plan, environmentName, envConfig);
  for (const issue of [...planIssues(drill.plan, envConfig, alertNames), ...hostIssues, ...remediationIssues(drill.plan, projectRoot)]) issues.push(issue);
  return { envConfig, registry, providersByPhase, issues };
}

export async function prepareRun(opts: PrepareOptions): Promise<PreparedRun> {
  const drill = pickDrill(await loadDefinitions(opts.file, process.cwd()), opts.drillName);
  const loadedConfig = await loadConfig(opts.projectRoot);
  const environmentName = opts.environment ?? defaultEnvironment(drill.plan);
  const { envConfig, registry, providersByPhase, issues } = await checkInEnvironment(drill, environmentName, loadedConfig, opts.projectRoot);
  if (issues.length) throw new DefinitionError(opts.file, issues);
  return {
    file: opts.file,
    drill,
    plan: drill.plan,
    environmentName,
    envConfig,
    evidenceDir: join(opts.projectRoot, loadedConfig.config.evidenceDir),
    registry,
    providersByPhase,
    slos: declaredSlos(drill),
  };
}
