// `drill run --dry-run`: the plan as it would run here, after the same checks as a real run,
// with what each fault would touch (Chaos Mesh objects validated against the CRD schemas) and,
// where the environment is reachable without starting anything, the same preflight.
import type { EnvironmentConfig } from '../../define/types.ts';
import { PrometheusClient } from '../../observe/prometheus.ts';
import { describePlan } from '../describe-plan.ts';
import { urlBeforeProxy } from '../environments/hosts.ts';
import { preflight } from './preflight.ts';
import type { PreparedRun } from './prepare.ts';
import { pushAll } from '../../util/arrays.ts';

type KubernetesConfig = Extract<EnvironmentConfig, { kind: 'kubernetes' }>;
type ChaosObject = import('../../faults/chaos-mesh/objects.ts').ChaosObject;
type HostsConfig = Extract<EnvironmentConfig, { kind: 'hosts' }>;

/** The blast radius of each process fault on a team's hosts: the exact processes it would hit now. */
async function processDetails(prepared: PreparedRun, envConfig: HostsConfig): Promise<Record<string, string[]>> {
  const { blastRadius } = await import('../../faults/local/process.ts');
  const { hostProxyDetail } = await import('../../faults/local/host-proxy.ts');
  const details: Record<string, string[]> = {};
  for (const phase of prepared.plan.phases) {
    const f = phase.fault;
    const viaProxy = f && hostProxyDetail(f, envConfig);
    if (viaProxy) details[phase.name] = viaProxy;
    if (!f || (f.kind !== 'pod-kill' && f.kind !== 'pod-failure')) continue;
    const host = envConfig.targets[f.target];
    if (!host) continue;
    const r = await blastRadius(f, { kind: 'host', name: f.target, target: host });
    details[phase.name] = [
      `blast radius: ${r.action} to ${r.hits} of ${r.processes.length} process(es)`,
      ...r.processes.map((p) => `  pid ${p.pid}: ${p.commandLine.slice(0, 200)}`),
      ...r.excluded.map((p) => `  left out pid ${p.pid} (${p.reason}): ${p.commandLine.slice(0, 120)}`),
    ];
  }
  return details;
}

/**
 * The API server's own verdict on each object (server-side dry run, `dryRun=All`: validated against
 * the installed CRD versions and admission, never stored), or why the cluster was not asked.
 */
async function serverVerdicts(objects: ChaosObject[], envConfig: KubernetesConfig): Promise<{ verdicts?: string[]; why?: string }> {
  const { serverDryRunEach } = await import('../../faults/chaos-mesh/provider.ts');
  try {
    return { verdicts: await serverDryRunEach(objects, envConfig) };
  } catch (err) {
    return { why: (err as Error).message };
  }
}

async function chaosMeshDetails(prepared: PreparedRun, envConfig: KubernetesConfig): Promise<Record<string, string[]>> {
  const { chaosObjectFor } = await import('../../faults/chaos-mesh/objects.ts');
  const { CrdValidator, CRD_DIR_ENV } = await import('../../faults/chaos-mesh/schema.ts');
  const phases = prepared.plan.phases.flatMap((phase, i) =>
    phase.fault && prepared.providersByPhase[phase.name] === 'chaos-mesh'
      ? [{ phase: phase.name, object: chaosObjectFor(phase.fault, envConfig, { runId: 'run-dry', faultId: `${i}-${phase.name}` }) }]
      : [],
  );
  const server = phases.length
    ? await serverVerdicts(
        phases.map((p) => p.object),
        envConfig,
      )
    : {};
  const crdDir = process.env[CRD_DIR_ENV];
  let validator: InstanceType<typeof CrdValidator> | undefined;
  let notValidated = `(not validated: the cluster was not reachable${server.why ? ` (${server.why})` : ''}; set ${CRD_DIR_ENV} to a folder of the chaos-mesh.org_*.yaml CRD files to check these objects offline)`;
  if (!server.verdicts && crdDir)
    try {
      validator = new CrdValidator(crdDir);
    } catch (err) {
      notValidated = `(not validated: ${(err as Error).message})`;
    }
  const details: Record<string, string[]> = {};
  phases.forEach(({ phase, object: o }, i) => {
    const issues = validator?.validate(o);
    details[phase] = [
      `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name} ${JSON.stringify(o.spec)}`,
      server.verdicts
        ? server.verdicts[i]!
        : issues === undefined
          ? notValidated
          : issues.length
            ? `INVALID: ${issues.map((x) => `${x.path} ${x.message}`).join('; ')}`
            : 'valid against the Chaos Mesh CRD schema',
    ];
  });
  return details;
}

export async function describeDryRun(prepared: PreparedRun): Promise<string> {
  const { envConfig, environmentName: name } = prepared;
  const details =
    envConfig.kind === 'kubernetes'
      ? await chaosMeshDetails(prepared, envConfig)
      : envConfig.kind === 'hosts'
        ? await processDetails(prepared, envConfig)
        : Object.fromEntries(
            prepared.plan.phases
              .filter((p) => p.fault?.kind === 'pod-kill' || p.fault?.kind === 'pod-failure')
              .map((p) => [
                p.name,
                [
                  envConfig.kind === 'containers'
                    ? `blast radius: the containers of service '${p.fault!.target}' (${envConfig.services[p.fault!.target ?? '']?.replicas ?? 1} replica(s), started with the run)`
                    : "blast radius: the local stage's service replicas (listed when the stage starts)",
                ],
              ]),
          );
  const lines = [describePlan({ plan: prepared.plan, environmentName: name, environmentKind: envConfig.kind, providers: prepared.providersByPhase, details })];
  if (envConfig.kind === 'hosts') {
    // A team's running service can be checked now; a failure throws (exit 4) like a real run.
    const checked = await preflight(prepared.plan, name, envConfig, {
      prometheus: envConfig.prometheus ? new PrometheusClient(envConfig.prometheus) : undefined,
      alertmanagerUrl: envConfig.alertmanager,
      // A target behind the harness's proxy is asked at its upstream: the proxy starts with the run.
      targetUrl: (t) => urlBeforeProxy(envConfig.targets[t]),
    });
    lines.push('', 'preflight:');
    pushAll(
      lines,
      checked.checked.map((c) => `  ✓ ${c}`),
    );
  } else {
    const opened = { local: 'local stage starts', containers: 'containers start', kubernetes: 'cluster is opened' }[envConfig.kind];
    lines.push('', `preflight: runs when the ${opened} (a dry run starts nothing)`);
  }
  lines.push('', '(dry run: nothing was started, injected or written)');
  return lines.join('\n');
}
