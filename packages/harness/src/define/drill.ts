// defineGameDay and defineDrill: a drill as users write it → a validated DrillPlan plus
// the definitions it imported (load profile, journeys, SLOs). Every problem is found
// in one pass and thrown as one DefinitionError listing them all. The input types are
// the schemas' inputs; DrillPlan (types.ts) stays hand-written, as it is assembled here
// (phases from fault + observe, defaults, references reduced to names).
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { faultSchema } from './faults.ts';
import { probeSchema, stopSchema, type ProbeInput, type StopInput } from './probes.ts';
import { duration, fraction, issuesFromZod, name, refTo, strictObject, withFix } from './schema-kit.ts';
import type { Defined, DefinedDrill, DrillPlan, DrillUses, PhasePlan, SloRef } from './types.ts';

/** When a fault phase names no bound, recovery is awaited this long (DESIGN: the canary gate's scale). */
export const DEFAULT_RECOVER_WITHIN = 60_000;

const loadRef = refTo<Defined<'load-profile'>>(
  { kind: z.literal('load-profile'), name: z.string() },
  withFix('expected a load profile', 'pass a profile made with defineLoadProfile, imported from load/'),
);
const sloRef = refTo<SloRef>(
  { kind: z.literal('slo'), name: z.string(), id: z.string() },
  withFix('expected an SLO', 'pass an SLO made with defineSlo, imported from alerts/'),
);

const expectSchema = strictObject({
  /** Alerts that must fire during the fault (TTD is taken from the first to fire). @default [] */
  alerts: z.array(z.string().min(1), { error: withFix('alerts is a list of alert names', "write alerts: ['GraphApiReplicaDown']") }).optional(),
  /** The most TTR may be: '60s', '5m' or milliseconds, above 0. @default '60s' (a restore drill: its `targets.rto`) */
  recoverWithin: duration().optional(),
});

const remediateSchema = strictObject({
  /** The alert (its alertname) whose firing notification, delivered by Alertmanager, starts the script. */
  onAlert: z.string({ error: withFix('a remediation names its alert', "write onAlert: 'GraphApiRouteFailing'") }).min(1),
  /** The script that takes the fault out, relative to the project root: a zx script under scripts/ (.ts, .mjs or .js). */
  run: z.string({ error: withFix('a remediation names its script', "write run: 'scripts/rollback-on-alert.ts'") }).min(1),
  /** The environment target whose URL the script gets as DRILLBOOK_TARGET_URL. @default the fault's target */
  target: z.string().min(1).optional(),
  /** The script is killed after this long: '30s' or milliseconds. @default '1m' */
  timeout: duration().optional(),
});

const phaseSchema = strictObject({
  /** The phase's name, unique in the game-day (`warm-up`, `replica-loss`, …). */
  name: name(),
  /** How long the phase lasts: '1m' or milliseconds. @default a fault phase lasts until recovery (bounded by recoverWithin) */
  duration: duration().optional(),
  /** The fault injected in this phase, built with `fault.…`. */
  fault: faultSchema.optional(),
  /** What the fault must cause: alerts that fire and a bound on recovery; only on a phase with a fault. */
  expect: expectSchema.optional(),
  /** 'mitigated': the fault stays in until the team's remediation or a person (`drill mitigate`) takes it out, instead of a duration. */
  until: z.literal('mitigated', { error: withFix("until takes only 'mitigated'", "write until: 'mitigated', or give the fault a duration") }).optional(),
  /** Safety deadline of `until: 'mitigated'`, from the fault going in: then the harness takes it out and the episode fails. @default recoverWithin */
  deadline: duration().optional(),
  /** The team's automation run when an alert fires (the seeds' rollback_on_alert); needs `until: 'mitigated'`. */
  remediate: remediateSchema.optional(),
});

/** Default bound on a remediation script's run time. */
export const DEFAULT_REMEDIATION_TIMEOUT = 60_000;

const common = {
  /** The drill's name: letters, digits, dots, dashes, underscores (`replica-loss`). */
  name: name(),
  /** A human title for listings and the report. @default the name */
  title: z.string().optional(),
  /** Environment names from drillbook.config.ts this may run in; deny by default, so at least one. */
  environments: z
    .array(z.string().min(1), { error: withFix('expected a list of environment names', "write environments: ['local']") })
    .min(1, { error: withFix('no environment allows this drill', "list where it may run, e.g. environments: ['local', 'stage'] (deny by default)") }),
  /** Probes that say the service is healthy (built with `probe.…`); a drill with a fault needs at least one. @default [] */
  steadyState: z.array(probeSchema).optional(),
  /** Conditions that abort the drill and revert its faults (built with `stop.…`). @default [] */
  stopWhen: z.array(stopSchema).optional(),
  /** Load run during the drill, as defineLoadProfile returned it (imported from load/). */
  load: loadRef.optional(),
  /** Consecutive passing steady-state probes that count as recovered. @default 3 */
  recoveryPasses: z
    .number()
    .int()
    .min(1, { error: withFix('recoveryPasses is at least 1', 'give recoveryPasses: 3') })
    .optional(),
  /** Extra checks in the verdict. */
  checks: strictObject({
    /** Share of requests whose backend trace must be complete. */
    traceCoverage: strictObject({
      /** The least share: '95%' or 0.95. */
      min: fraction(),
    }).optional(),
    /** SLOs (from defineSlo, imported from alerts/) measured over the run, each against its own objective. */
    slo: z.array(sloRef).optional(),
  }).optional(),
};

const gameDaySchema = strictObject({
  ...common,
  /** The phases, in order; each has a duration, a fault, or both. At least one. */
  phases: z.array(phaseSchema, { error: withFix('expected a list of phases', "write phases: [{ name: 'warm-up', duration: '1m' }, …]") }).min(1, {
    error: withFix('a game-day needs at least one phase', "add phases: [{ name: 'warm-up', duration: '1m' }, { name: 'fault', fault: … }]"),
  }),
});

const drillSchema = strictObject({
  ...common,
  /** One fault, observed until recovery: the simple form of a game-day. A drill has a fault or a restore. */
  fault: faultSchema.optional(),
  /** What the fault must cause: alerts that fire and a bound on recovery. */
  expect: expectSchema.optional(),
  /** Quiet time before and after the fault: '5s' or milliseconds. @default '5s' */
  observe: duration().optional(),
  /** A timed restore: the database's data is lost, then restored from a base backup plus archived WAL. */
  restore: strictObject({
    /** The restore method: point-in-time recovery of PostgreSQL. */
    kind: z.literal('postgres-pitr', { error: withFix('unknown restore kind', "use kind: 'postgres-pitr'") }),
    /** The database target of the environment (`db`). */
    database: z.string({ error: withFix('a restore names its database target', "add database: 'db'") }).min(1),
    /** Heartbeat rows written during the drill, from which the data lost (RPO) is measured. */
    heartbeat: strictObject({
      /** How often a heartbeat row is written: '100ms' or milliseconds. @default '100ms' */
      every: duration().optional(),
    }).optional(),
    /** How long the outage lasts before the restore starts (detection and decision). @default '2s' */
    restoreAfter: duration().optional(),
  }).optional(),
  /** Recovery targets of a restore drill, checked in the verdict. */
  targets: strictObject({
    /** Recovery point objective: the most data, in time, the restore may lose ('15m' or milliseconds). */
    rpo: duration().optional(),
    /** Recovery time objective: the longest the restore may take ('1h' or milliseconds); bounds recovery when expect gives none. */
    rto: duration().optional(),
  }).optional(),
});

/** A multi-phase drill as written: what defineGameDay takes. */
export type GameDayInput = z.input<typeof gameDaySchema>;
/** A one-fault (or one-restore) drill as written: what defineDrill takes. */
export type DrillInput = z.input<typeof drillSchema>;
/** One phase of a game-day as written. */
export type PhaseInput = z.input<typeof phaseSchema>;

type CommonParsed = z.infer<z.ZodObject<typeof common>>;

function usesOf(input: CommonParsed, rawProbes: ProbeInput[] | undefined, rawStops: StopInput[] | undefined, rawChecks: DrillInput['checks']): DrillUses {
  const uses: DrillUses = { journeys: {}, slos: {} };
  if (input.load) uses.load = input.load;
  for (const p of rawProbes ?? []) if (p.probe === 'journey') uses.journeys[p.journey.name] = p.journey;
  for (const s of rawStops ?? []) if (s.stop === 'budget-consumed') uses.slos[s.slo.id] = s.slo;
  for (const s of rawChecks?.slo ?? []) uses.slos[s.id] = s;
  return uses;
}

/** Cross-field rules zod cannot see field by field. */
function crossCheck(plan: DrillPlan, add: (path: string, problem: string, fix: string) => void): void {
  const seenPhase = new Map<string, number>();
  plan.phases.forEach((p, i) => {
    if (seenPhase.has(p.name))
      add(`phases[${i}].name`, `duplicate phase name '${p.name}' (also phases[${seenPhase.get(p.name)}])`, 'give every phase its own name');
    else seenPhase.set(p.name, i);
    if (!p.fault && p.duration === undefined)
      add(`phases[${i}].duration`, `phase '${p.name}' has neither a fault nor a duration`, "give it duration: '1m', or a fault");
    if (!p.fault && p.expect)
      add(`phases[${i}].expect`, `phase '${p.name}' expects alerts or recovery but injects no fault`, 'move expect to the phase with the fault, or add one');
    checkMitigation(p, i, add);
  });
  const seenProbe = new Map<string, number>();
  plan.steadyState.forEach((p, i) => {
    if (seenProbe.has(p.name)) add(`steadyState[${i}].name`, `duplicate probe name '${p.name}'`, 'give every probe its own name');
    else seenProbe.set(p.name, i);
  });
  plan.stopWhen.forEach((s, i) => {
    if (s.kind === 'probe-failing' && !seenProbe.has(s.probe))
      add(`stopWhen[${i}].probe`, `no steady-state probe is named '${s.probe}'`, `name one of: ${[...seenProbe.keys()].join(', ') || '(no probes defined)'}`);
  });
  const hasFault = plan.phases.some((p) => p.fault);
  if (hasFault && plan.steadyState.length === 0)
    add(
      'steadyState',
      'a drill with a fault has no steady-state probes, so recovery cannot be measured',
      "add steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })]",
    );
}

function finish(file: string | undefined, issues: Array<{ path: string; problem: string; fix: string }>): void {
  if (issues.length > 0) throw new DefinitionError(file, issues);
}

const fixFor = (path: string) =>
  path.startsWith('environments')
    ? "write environments: ['local']"
    : path.includes('name')
      ? 'give a short name such as "replica-loss"'
      : 'see docs/definitions.md for the shape of this field';

export function defineGameDay(input: GameDayInput, file?: string): DefinedDrill {
  const parsed = gameDaySchema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, fixFor));
  const d = parsed.data;
  const phases: PhasePlan[] = d.phases.map((p) => ({
    name: p.name,
    ...(p.duration !== undefined ? { duration: p.duration } : {}),
    ...(p.fault
      ? { fault: p.fault, expect: { alerts: p.expect?.alerts ?? [], recoverWithin: p.expect?.recoverWithin ?? DEFAULT_RECOVER_WITHIN } }
      : p.expect
        ? { expect: { alerts: p.expect.alerts ?? [], recoverWithin: p.expect.recoverWithin ?? DEFAULT_RECOVER_WITHIN } }
        : {}),
    ...mitigationOf(p),
  }));
  const plan = planOf(d, phases, file);
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  crossCheck(plan, (path, problem, fix) => issues.push({ path, problem, fix }));
  finish(file, issues);
  return { kind: 'drill', name: plan.name, plan, uses: usesOf(d, input.steadyState, input.stopWhen, input.checks) };
}

/** A phase's `until`/`deadline`/`remediate` as the plan holds them (defaults filled in). */
function mitigationOf(p: z.infer<typeof phaseSchema>): Pick<PhasePlan, 'until' | 'deadline' | 'remediate'> {
  const out: Pick<PhasePlan, 'until' | 'deadline' | 'remediate'> = {};
  if (p.until) {
    out.until = p.until;
    out.deadline = p.deadline ?? p.expect?.recoverWithin ?? DEFAULT_RECOVER_WITHIN;
  } else if (p.deadline !== undefined) out.deadline = p.deadline;
  if (p.remediate)
    out.remediate = {
      onAlert: p.remediate.onAlert,
      run: p.remediate.run,
      ...(p.remediate.target ? { target: p.remediate.target } : {}),
      timeout: p.remediate.timeout ?? DEFAULT_REMEDIATION_TIMEOUT,
    };
  return out;
}

/** Cross-field rules of `until`, `deadline` and `remediate` on one phase. */
function checkMitigation(p: PhasePlan, i: number, add: (path: string, problem: string, fix: string) => void): void {
  const at = `phases[${i}]`;
  if (p.until && !p.fault) add(`${at}.until`, `phase '${p.name}' waits for mitigation but injects no fault`, 'remove until, or add a fault');
  if (p.until && p.fault && 'duration' in p.fault && p.fault.duration !== undefined)
    add(
      `${at}.fault.duration`,
      `phase '${p.name}' stays until mitigated, so its fault cannot also have a duration`,
      "remove the fault's duration; bound it with deadline: '2m'",
    );
  if (!p.until && p.deadline !== undefined)
    add(`${at}.deadline`, 'a deadline bounds only a fault that stays until mitigated', "add until: 'mitigated', or remove deadline");
  if (!p.until && p.remediate) add(`${at}.remediate`, 'a remediation takes out a fault that stays until mitigated', "add until: 'mitigated' to the phase");
  const run = p.remediate?.run;
  if (run !== undefined && (run.startsWith('/') || run.split(/[\\/]/).includes('..') || !/\.(ts|mts|mjs|js)$/.test(run)))
    add(
      `${at}.remediate.run`,
      `'${run}' is not a script path inside the project`,
      "give a path relative to the project root, e.g. 'scripts/rollback-on-alert.ts'",
    );
}

function planOf(d: CommonParsed & { title?: string | undefined }, phases: PhasePlan[], file: string | undefined): DrillPlan {
  return {
    name: d.name,
    title: d.title ?? d.name,
    environments: d.environments,
    recoveryPasses: d.recoveryPasses ?? 3,
    steadyState: d.steadyState ?? [],
    stopWhen: d.stopWhen ?? [],
    phases,
    ...(d.load ? { load: d.load.name } : {}),
    ...(d.checks
      ? {
          checks: {
            ...(d.checks.traceCoverage ? { traceCoverage: d.checks.traceCoverage } : {}),
            ...(d.checks.slo ? { slo: d.checks.slo.map((s) => s.id) } : {}),
          },
        }
      : {}),
    ...(file ? { source: file } : {}),
  };
}

export function defineDrill(input: DrillInput, file?: string): DefinedDrill {
  const parsed = drillSchema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, fixFor));
  const d = parsed.data;
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  if (!d.fault && !d.restore)
    issues.push({
      path: 'fault',
      problem: 'a drill needs a fault or a restore',
      fix: 'add fault: fault.podKill({ … }), or restore: { kind: "postgres-pitr", database: "db" }; for several phases use defineGameDay',
    });
  if (d.fault && d.restore)
    issues.push({ path: 'restore', problem: 'a drill has either a fault or a restore, not both', fix: 'split it into two drills, or use defineGameDay' });
  if (d.targets && !d.restore)
    issues.push({
      path: 'targets',
      problem: 'RPO/RTO targets belong to a restore drill',
      fix: 'remove targets, or add restore: { kind: "postgres-pitr", database: "db" }',
    });
  const observe = d.observe ?? 5_000;
  // A restore is a data-loss fault whose revert is the restore: the engine times it like any episode.
  const theFault =
    d.fault ??
    (d.restore
      ? { kind: 'data-loss' as const, target: d.restore.database, selection: { mode: 'one' as const }, duration: d.restore.restoreAfter ?? 2_000 }
      : undefined);
  const phases: PhasePlan[] = theFault
    ? [
        { name: 'before', duration: observe },
        {
          name: d.restore ? 'restore' : theFault.kind,
          fault: theFault,
          expect: { alerts: d.expect?.alerts ?? [], recoverWithin: d.expect?.recoverWithin ?? d.targets?.rto ?? DEFAULT_RECOVER_WITHIN },
        },
        { name: 'after', duration: observe },
      ]
    : [];
  const plan: DrillPlan = {
    ...planOf(d, phases, file),
    ...(d.restore ? { restore: { kind: d.restore.kind, database: d.restore.database, heartbeat: { every: d.restore.heartbeat?.every ?? 100 } } } : {}),
    ...(d.targets ? { targets: { ...(d.targets.rpo ? { rpo: d.targets.rpo } : {}), ...(d.targets.rto ? { rto: d.targets.rto } : {}) } } : {}),
  };
  crossCheck(plan, (path, problem, fix) => issues.push({ path, problem, fix }));
  finish(file, issues);
  return { kind: 'drill', name: plan.name, plan, uses: usesOf(d, input.steadyState, input.stopWhen, input.checks) };
}

export function isDefinedDrill(value: unknown): value is DefinedDrill {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'drill' && 'plan' in value;
}
