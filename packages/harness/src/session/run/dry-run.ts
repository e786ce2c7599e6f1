// `drill run --dry-run`: the plan as it would run here, after the same checks as a real run
// (prepareRun's, so a dry run accepts exactly what a run accepts), with what each fault would
// touch — a hosts fault's processes or proxy, a Kubernetes fault's Chaos Mesh object and the API
// server's (or the CRD schema's) verdict on it — and, on hosts, the same preflight a run does.
// Found once, as data (`dryRunFacts`, the `--json` document's plan); the text is drawn from it.
import { z } from 'zod';
import type { EnvironmentConfig, PhasePlan } from '../../define/types.ts';
import type { ChaosObject } from '../../faults/chaos-mesh/objects.ts';
import { hostProxyDetail } from '../../faults/local/host-proxy.ts';
import { PrometheusClient } from '../../observe/prometheus.ts';
import { describeFault, describePlan, describeProbe, describeStop } from '../describe-plan.ts';
import { urlBeforeProxy } from '../environments/hosts.ts';
import { preflight } from './preflight.ts';
import type { PreparedRun } from './prepare.ts';

type KubernetesConfig = Extract<EnvironmentConfig, { kind: 'kubernetes' }>;
type HostsConfig = Extract<EnvironmentConfig, { kind: 'hosts' }>;

const ProcessOut = z.object({ pid: z.int(), commandLine: z.string() });

const BlastRadiusOut = z.object({
  action: z.enum(['SIGKILL', 'SIGSTOP']),
  hits: z.int().describe('how many of the processes the fault hits'),
  processes: z.array(ProcessOut),
  excluded: z.array(ProcessOut.extend({ reason: z.string() })).describe('processes the pattern matched that a fault never touches'),
});

export const KubernetesObjectOut = z
  .object({
    phase: z.string(),
    object: z.record(z.string(), z.unknown()).describe('the Chaos Mesh object exactly as the run would create it'),
    validation: z.object({
      by: z.enum(['api-server', 'crd-schema']).nullable().describe('null: not validated (detail says why)'),
      ok: z.boolean().nullable(),
      detail: z.string(),
    }),
  })
  .meta({ id: 'KubernetesObject' });

const PhaseOut = z.object({
  name: z.string(),
  startsAtMs: z.number().describe('earliest offset from the start of the run'),
  startsAtLeast: z.boolean().describe("true after a fault phase: when it ends depends on the fault's revert or on recovery, so startsAtMs is a lower bound"),
  durationMs: z
    .number()
    .nullable()
    .describe("the phase's own duration; null for a fault phase without one (it lasts its fault's duration, else until recovery)"),
  fault: z
    .object({
      kind: z.string(),
      description: z.string(),
      provider: z.string().describe('the provider chosen for this environment'),
      target: z.string().nullable(),
      durationMs: z.number().nullable(),
      spec: z.record(z.string(), z.unknown()).describe("the fault's definition (functions shown as '[function]')"),
    })
    .nullable(),
  expect: z.object({ alerts: z.array(z.string()), recoverWithinMs: z.number().nullable() }),
  until: z.literal('mitigated').nullable(),
  deadlineMs: z.number().nullable(),
  remediate: z.object({ onAlert: z.string(), run: z.string() }).nullable(),
  blastRadius: BlastRadiusOut.nullable().describe("on hosts: the exact processes a process fault would hit now; elsewhere null (see 'touches')"),
  via: z.string().nullable().describe('on hosts: the fault proxy a network fault or dependency outage acts through (listen → upstream)'),
  touches: z.string().nullable().describe('what a process fault would hit where it cannot be listed before the run starts'),
});

/** The plan fields of the dry-run document (output/run.ts adds the envelope). */
export const DryRunPlanOut = z.object({
  drill: z.string(),
  title: z.string(),
  environment: z.object({ name: z.string(), kind: z.enum(['local', 'hosts', 'kubernetes', 'containers']) }),
  recoveryPasses: z.int(),
  load: z.string().nullable(),
  steadyState: z.array(z.object({ name: z.string(), kind: z.string(), everyMs: z.number(), description: z.string() })),
  phases: z.array(PhaseOut),
  stopConditions: z.array(z.object({ kind: z.string(), description: z.string() })),
  restore: z.object({ kind: z.string(), database: z.string(), heartbeatEveryMs: z.number() }).nullable(),
  targets: z.object({ rpoMs: z.number().nullable(), rtoMs: z.number().nullable() }),
  kubernetesObjects: z.array(KubernetesObjectOut).describe('on a kubernetes environment: the Chaos Mesh objects (-o yaml prints them alone)'),
  preflight: z.object({
    ran: z.boolean().describe("false where the preflight needs what the run starts (the local stage, containers, the cluster's port-forwards)"),
    checked: z.array(z.string()),
  }),
});
export type DryRunPlanOut = z.infer<typeof DryRunPlanOut>;
type PhaseOut = z.infer<typeof PhaseOut>;
type KubernetesObjectOut = z.infer<typeof KubernetesObjectOut>;

/** Functions (custom actions) are not data: a marker in their place, as the run record does. */
const plainData = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'function' ? '[function]' : x))) as Record<string, unknown>;

/**
 * The Chaos Mesh object of each fault phase that the chaos-mesh provider carries out, named with the
 * dry run's ids (run `run-dry`, fault `<index>-<phase>`) as `drill run --dry-run` prints them.
 */
export async function chaosObjectsOf(prepared: PreparedRun): Promise<Array<{ phase: string; object: ChaosObject }>> {
  if (prepared.envConfig.kind !== 'kubernetes') return [];
  const env = prepared.envConfig;
  const { chaosObjectFor } = await import('../../faults/chaos-mesh/objects.ts');
  return prepared.plan.phases.flatMap((phase, i) =>
    phase.fault && prepared.providersByPhase[phase.name] === 'chaos-mesh'
      ? [{ phase: phase.name, object: chaosObjectFor(phase.fault, env, { runId: 'run-dry', faultId: `${i}-${phase.name}` }) }]
      : [],
  );
}

/** Each object with the API server's verdict (server-side dry run), else the offline CRD check when its files are named, else why not. */
async function validated(objects: Array<{ phase: string; object: ChaosObject }>, env: KubernetesConfig): Promise<KubernetesObjectOut[]> {
  if (!objects.length) return [];
  const { serverDryRunEach } = await import('../../faults/chaos-mesh/provider.ts');
  let server: string[] | undefined;
  let why = '';
  try {
    server = await serverDryRunEach(
      objects.map((o) => o.object),
      env,
    );
  } catch (err) {
    why = (err as Error).message;
  }
  const { CrdValidator, CRD_DIR_ENV } = await import('../../faults/chaos-mesh/schema.ts');
  let validator: InstanceType<typeof CrdValidator> | undefined;
  let notValidated = `not validated: the cluster was not reachable (${why}); set ${CRD_DIR_ENV} to a folder of the chaos-mesh.org_*.yaml CRD files to check offline`;
  const crdDir = process.env[CRD_DIR_ENV];
  if (!server && crdDir)
    try {
      validator = new CrdValidator(crdDir);
    } catch (err) {
      notValidated = `not validated: ${(err as Error).message}`;
    }
  return objects.map(({ phase, object }, i) => {
    const line = server?.[i];
    // serverDryRunEach answers one line per object, starting 'admitted' or 'REFUSED'.
    if (line !== undefined) return { phase, object: plainData(object), validation: { by: 'api-server', ok: line.startsWith('admitted'), detail: line } };
    const issues = validator?.validate(object);
    if (issues === undefined) return { phase, object: plainData(object), validation: { by: null, ok: null, detail: notValidated } };
    const detail = issues.length ? issues.map((x) => `${x.path} ${x.message}`).join('; ') : 'valid against the Chaos Mesh CRD schema';
    return { phase, object: plainData(object), validation: { by: 'crd-schema', ok: issues.length === 0, detail } };
  });
}

async function blastRadiusOf(phase: PhasePlan, env: HostsConfig): Promise<PhaseOut['blastRadius']> {
  const f = phase.fault;
  if (!f || (f.kind !== 'pod-kill' && f.kind !== 'pod-failure')) return null;
  const host = env.targets[f.target];
  if (!host) return null;
  const { blastRadius } = await import('../../faults/local/process.ts');
  const r = await blastRadius(f, { kind: 'host', name: f.target, target: host });
  return {
    action: r.action,
    hits: r.hits,
    processes: r.processes.map((p) => ({ pid: p.pid, commandLine: p.commandLine })),
    excluded: r.excluded.map((p) => ({ pid: p.pid, commandLine: p.commandLine, reason: p.reason })),
  };
}

function touchesOf(phase: PhasePlan, env: EnvironmentConfig): string | null {
  const f = phase.fault;
  if (!f || (f.kind !== 'pod-kill' && f.kind !== 'pod-failure')) return null;
  if (env.kind === 'containers') return `the containers of service '${f.target}' (${env.services[f.target]?.replicas ?? 1} replica(s), started with the run)`;
  if (env.kind === 'local') return "the local stage's service replicas (listed when the stage starts)";
  return null;
}

/** What a dry run finds, as data: `drill run --dry-run --json` prints it, and the text below is drawn from it. */
export async function dryRunFacts(prepared: PreparedRun): Promise<DryRunPlanOut> {
  const { plan, envConfig: env } = prepared;
  const phases: PhaseOut[] = [];
  // The earliest start of each phase: a fault phase lasts at least its duration (or its fault's), and
  // until recovery, so every later offset is a lower bound (describePlan's timeline, as data).
  let offset = 0;
  let open = false;
  for (const phase of plan.phases) {
    const f = phase.fault;
    const faultDuration = f && 'duration' in f && f.duration ? f.duration : null;
    phases.push({
      name: phase.name,
      startsAtMs: offset,
      startsAtLeast: open,
      durationMs: f ? (phase.duration ?? null) : (phase.duration ?? 0),
      fault: f
        ? {
            kind: f.kind,
            description: describeFault(f),
            provider: prepared.providersByPhase[phase.name] ?? '',
            target: 'target' in f && f.target ? f.target : null,
            durationMs: faultDuration,
            spec: plainData(f),
          }
        : null,
      expect: { alerts: phase.expect?.alerts ?? [], recoverWithinMs: phase.expect?.recoverWithin ?? null },
      until: phase.until ?? null,
      deadlineMs: phase.deadline ?? null,
      remediate: phase.remediate ? { onAlert: phase.remediate.onAlert, run: phase.remediate.run } : null,
      blastRadius: env.kind === 'hosts' ? await blastRadiusOf(phase, env) : null,
      via: env.kind === 'hosts' && f ? (hostProxyDetail(f, env)?.[0] ?? null) : null,
      touches: touchesOf(phase, env),
    });
    if (f) {
      open = true;
      offset += Math.max(phase.duration ?? 0, faultDuration ?? 0);
    } else offset += phase.duration ?? 0;
  }
  let checked: string[] = [];
  if (env.kind === 'hosts')
    // A team's running service can be checked now; a failure throws (exit 4) as in a real run.
    ({ checked } = await preflight(plan, prepared.environmentName, env, {
      prometheus: env.prometheus ? new PrometheusClient(env.prometheus) : undefined,
      alertmanagerUrl: env.alertmanager,
      // A target behind the harness's proxy is asked at its upstream: the proxy starts with the run.
      targetUrl: (t) => urlBeforeProxy(env.targets[t]),
    }));
  return {
    drill: plan.name,
    title: plan.title,
    environment: { name: prepared.environmentName, kind: env.kind },
    recoveryPasses: plan.recoveryPasses,
    load: plan.load ?? null,
    steadyState: plan.steadyState.map((p) => ({ name: p.name, kind: p.kind, everyMs: p.every, description: describeProbe(p) })),
    phases,
    stopConditions: plan.stopWhen.map((s) => ({ kind: s.kind, description: describeStop(s) })),
    restore: plan.restore ? { kind: plan.restore.kind, database: plan.restore.database, heartbeatEveryMs: plan.restore.heartbeat.every } : null,
    targets: { rpoMs: plan.targets?.rpo ?? null, rtoMs: plan.targets?.rto ?? null },
    kubernetesObjects: env.kind === 'kubernetes' ? await validated(await chaosObjectsOf(prepared), env) : [],
    preflight: { ran: env.kind === 'hosts', checked },
  };
}

/** The lines under a phase in the text plan: what its fault would touch, from the facts. */
function touchLines(phase: DryRunPlanOut['phases'][number], object: KubernetesObjectOut | undefined): string[] {
  if (object) {
    const o = object.object as { apiVersion: string; kind: string; metadata: { namespace: string; name: string }; spec: unknown };
    const v = object.validation;
    const verdict = v.by === 'api-server' ? v.detail : v.by === 'crd-schema' ? (v.ok ? v.detail : `INVALID: ${v.detail}`) : `(${v.detail})`;
    return [`${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name} ${JSON.stringify(o.spec)}`, verdict];
  }
  const r = phase.blastRadius;
  if (r)
    return [
      `blast radius: ${r.action} to ${r.hits} of ${r.processes.length} process(es)`,
      ...r.processes.map((p) => `  pid ${p.pid}: ${p.commandLine.slice(0, 200)}`),
      ...r.excluded.map((p) => `  left out pid ${p.pid} (${p.reason}): ${p.commandLine.slice(0, 120)}`),
    ];
  if (phase.via) return [phase.via];
  return phase.touches ? [`blast radius: ${phase.touches}`] : [];
}

/** The dry run as text: the plan, what each fault would touch, the preflight. */
export async function describeDryRun(prepared: PreparedRun): Promise<string> {
  const facts = await dryRunFacts(prepared);
  const { envConfig, environmentName: name } = prepared;
  const details: Record<string, string[]> = {};
  for (const phase of facts.phases) {
    const lines = touchLines(
      phase,
      facts.kubernetesObjects.find((o) => o.phase === phase.name),
    );
    if (lines.length) details[phase.name] = lines;
  }
  const lines = [describePlan({ plan: prepared.plan, environmentName: name, environmentKind: envConfig.kind, providers: prepared.providersByPhase, details })];
  if (facts.preflight.ran) {
    lines.push('', 'preflight:');
    for (const c of facts.preflight.checked) lines.push(`  ✓ ${c}`);
  } else {
    const opened = { local: 'local stage starts', containers: 'containers start', kubernetes: 'cluster is opened', hosts: '' }[envConfig.kind];
    lines.push('', `preflight: runs when the ${opened} (a dry run starts nothing)`);
  }
  lines.push('', '(dry run: nothing was started, injected or written)');
  return lines.join('\n');
}
