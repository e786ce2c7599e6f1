// defineGameDay and defineDrill: a drill as users write it → a validated DrillPlan plus
// the definitions it imported (load profile, journeys, SLOs). Every problem is found
// in one pass and thrown as one DefinitionError listing them all.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { faultSchema, type FaultInput } from './faults.ts';
import { probeSchema, stopSchema, type ProbeInput, type StopInput } from './probes.ts';
import { duration, fraction, issuesFromZod, name, strictObject, withFix } from './schema-kit.ts';
import type { Defined, DefinedDrill, DrillPlan, DrillUses, PhasePlan, SloRef } from './types.ts';

type Dur = string | number;

export interface PhaseInput {
  name: string;
  duration?: Dur;
  fault?: FaultInput;
  expect?: { alerts?: string[]; recoverWithin?: Dur };
}

interface CommonInput {
  name: string;
  title?: string;
  environments: string[];
  steadyState?: ProbeInput[];
  stopWhen?: StopInput[];
  load?: Defined<'load-profile'>;
  /** Consecutive passing steady-state probes that count as recovered (default 3). */
  recoveryPasses?: number;
  checks?: { traceCoverage?: { min: number | string }; slo?: SloRef[] };
}

export interface GameDayInput extends CommonInput {
  phases: PhaseInput[];
}

export interface DrillInput extends CommonInput {
  /** One fault, observed until recovery: the simple form of a game-day. */
  fault?: FaultInput;
  expect?: { alerts?: string[]; recoverWithin?: Dur };
  /** Quiet time before and after the fault (default 5s each). */
  observe?: Dur;
  /** A timed restore: the database's data is lost, then restored from a base backup plus archived WAL. */
  restore?: { kind: 'postgres-pitr'; database: string; heartbeat?: { every?: Dur }; restoreAfter?: Dur };
  targets?: { rpo?: Dur; rto?: Dur };
}

/** When a fault phase names no bound, recovery is awaited this long (DESIGN: the canary gate's scale). */
export const DEFAULT_RECOVER_WITHIN = 60_000;

const loadRef = z
  .object({ kind: z.literal('load-profile'), name: z.string() }, { error: withFix('expected a load profile', 'pass a profile made with defineLoadProfile, imported from load/') })
  .passthrough();
const sloRef = z.object({ kind: z.literal('slo'), name: z.string(), id: z.string() }, { error: withFix('expected an SLO', 'pass an SLO made with defineSlo, imported from alerts/') }).passthrough();

const expectSchema = strictObject({
  alerts: z.array(z.string().min(1), { error: withFix('alerts is a list of alert names', "write alerts: ['GraphApiReplicaDown']") }).optional(),
  recoverWithin: duration().optional(),
});

const phaseSchema = strictObject({
  name: name(),
  duration: duration().optional(),
  fault: faultSchema.optional(),
  expect: expectSchema.optional(),
});

const common = {
  name: name(),
  title: z.string().optional(),
  environments: z
    .array(z.string().min(1), { error: withFix('expected a list of environment names', "write environments: ['local']") })
    .min(1, { error: withFix('no environment allows this drill', "list where it may run, e.g. environments: ['local', 'stage'] (deny by default)") }),
  steadyState: z.array(probeSchema).optional(),
  stopWhen: z.array(stopSchema).optional(),
  load: loadRef.optional(),
  recoveryPasses: z.number().int().min(1, { error: withFix('recoveryPasses is at least 1', 'give recoveryPasses: 3') }).optional(),
  checks: strictObject({
    traceCoverage: strictObject({ min: fraction() }).optional(),
    slo: z.array(sloRef).optional(),
  }).optional(),
};

const gameDaySchema = strictObject({
  ...common,
  phases: z.array(phaseSchema, { error: withFix('expected a list of phases', "write phases: [{ name: 'warm-up', duration: '1m' }, …]") }).min(1, {
    error: withFix('a game-day needs at least one phase', "add phases: [{ name: 'warm-up', duration: '1m' }, { name: 'fault', fault: … }]"),
  }),
});

const drillSchema = strictObject({
  ...common,
  fault: faultSchema.optional(),
  expect: expectSchema.optional(),
  observe: duration().optional(),
  restore: strictObject({
    kind: z.literal('postgres-pitr', { error: withFix('unknown restore kind', "use kind: 'postgres-pitr'") }),
    database: z.string({ error: withFix('a restore names its database target', "add database: 'db'") }).min(1),
    heartbeat: strictObject({ every: duration().optional() }).optional(),
    restoreAfter: duration().optional(),
  }).optional(),
  targets: strictObject({ rpo: duration().optional(), rto: duration().optional() }).optional(),
});

type CommonParsed = z.infer<z.ZodObject<typeof common>>;

function usesOf(input: CommonParsed, rawProbes: ProbeInput[] | undefined, rawStops: StopInput[] | undefined, rawChecks: CommonInput['checks']): DrillUses {
  const uses: DrillUses = { journeys: {}, slos: {} };
  if (input.load) uses.load = input.load as unknown as Defined<'load-profile'>;
  for (const p of rawProbes ?? []) if (p.probe === 'journey') uses.journeys[p.journey.name] = p.journey;
  for (const s of rawStops ?? []) if (s.stop === 'budget-consumed') uses.slos[s.slo.id] = s.slo;
  for (const s of rawChecks?.slo ?? []) uses.slos[s.id] = s;
  return uses;
}

/** Cross-field rules zod cannot see field by field. */
function crossCheck(plan: DrillPlan, add: (path: string, problem: string, fix: string) => void): void {
  const seenPhase = new Map<string, number>();
  plan.phases.forEach((p, i) => {
    if (seenPhase.has(p.name)) add(`phases[${i}].name`, `duplicate phase name '${p.name}' (also phases[${seenPhase.get(p.name)}])`, 'give every phase its own name');
    else seenPhase.set(p.name, i);
    if (!p.fault && p.duration === undefined) add(`phases[${i}].duration`, `phase '${p.name}' has neither a fault nor a duration`, "give it duration: '1m', or a fault");
    if (!p.fault && p.expect) add(`phases[${i}].expect`, `phase '${p.name}' expects alerts or recovery but injects no fault`, 'move expect to the phase with the fault, or add one');
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
    add('steadyState', 'a drill with a fault has no steady-state probes, so recovery cannot be measured', "add steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })]");
}

function finish(file: string | undefined, issues: Array<{ path: string; problem: string; fix: string }>): void {
  if (issues.length > 0) throw new DefinitionError(file, issues);
}

const fixFor = (path: string) =>
  path.startsWith('environments')
    ? "write environments: ['local']"
    : path.includes('name')
      ? 'give a short name such as "replica-loss"'
      : 'see API-SKETCH.md for the shape of this field';

export function defineGameDay(input: GameDayInput, file?: string): DefinedDrill {
  const parsed = gameDaySchema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, fixFor));
  const d = parsed.data;
  const phases: PhasePlan[] = d.phases.map((p) => ({
    name: p.name,
    ...(p.duration !== undefined ? { duration: p.duration } : {}),
    ...(p.fault ? { fault: p.fault, expect: { alerts: p.expect?.alerts ?? [], recoverWithin: p.expect?.recoverWithin ?? DEFAULT_RECOVER_WITHIN } } : p.expect ? { expect: { alerts: p.expect.alerts ?? [], recoverWithin: p.expect.recoverWithin ?? DEFAULT_RECOVER_WITHIN } } : {}),
  }));
  const plan = planOf(d, phases, file);
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  crossCheck(plan, (path, problem, fix) => issues.push({ path, problem, fix }));
  finish(file, issues);
  return { kind: 'drill', name: plan.name, plan, uses: usesOf(d, input.steadyState, input.stopWhen, input.checks) };
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
    ...(d.checks ? { checks: { ...(d.checks.traceCoverage ? { traceCoverage: d.checks.traceCoverage } : {}), ...(d.checks.slo ? { slo: d.checks.slo.map((s) => s.id) } : {}) } } : {}),
    ...(file ? { source: file } : {}),
  };
}

export function defineDrill(input: DrillInput, file?: string): DefinedDrill {
  const parsed = drillSchema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, fixFor));
  const d = parsed.data;
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  if (!d.fault && !d.restore) issues.push({ path: 'fault', problem: 'a drill needs a fault or a restore', fix: 'add fault: fault.podKill({ … }), or restore: { kind: "postgres-pitr", database: "db" }; for several phases use defineGameDay' });
  if (d.fault && d.restore) issues.push({ path: 'restore', problem: 'a drill has either a fault or a restore, not both', fix: 'split it into two drills, or use defineGameDay' });
  if (d.targets && !d.restore) issues.push({ path: 'targets', problem: 'RPO/RTO targets belong to a restore drill', fix: 'remove targets, or add restore: { kind: "postgres-pitr", database: "db" }' });
  const observe = d.observe ?? 5_000;
  // A restore is a data-loss fault whose revert is the restore: the engine times it like any episode.
  const theFault = d.fault ?? (d.restore ? { kind: 'data-loss' as const, target: d.restore.database, selection: { mode: 'one' as const }, duration: d.restore.restoreAfter ?? 2_000 } : undefined);
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
