// Faults as users write them (`fault.network({ target: 'db', delay: '300ms', duration: '2m' })`)
// and their schemas, one per kind; the input types are derived from them. Builders only tag
// the input; defineDrill/defineGameDay validate it in place, so every error carries its full
// path (`phases[2].fault.delay`). FaultSpec (types.ts) stays hand-written: the schemas reshape
// mode/value into `selection` and `fault` into `kind`.
import { z } from 'zod';
import type { CustomActionContext, FaultSpec } from './types.ts';
import { byKind, duration, fraction, modeFields, selectionOf, strictObject, suggestKey, withFix } from './schema-kit.ts';

const target = () =>
  z
    .string({ error: withFix('missing target', "name a target of the environment, e.g. target: 'api'") })
    .min(1, { error: withFix('empty target', "name a target of the environment, e.g. target: 'api'") });

const action = z.union([z.string().min(1), z.custom<(ctx: CustomActionContext) => Promise<void>>((v) => typeof v === 'function')], {
  error: withFix('expected a script path or a function', "give the path of a zx script (e.g. 'scripts/dr-dry-run.mjs') or an async function"),
});

/** The fields every fault on a target has; `fault` is set by the builder (`fault.podKill` → 'pod-kill'). */
const targeted = <K extends string>(kind: K) => ({
  /** The fault's kind; the `fault.…` builder sets it. */
  fault: z.literal(kind),
  /** A target name from the environment in drillbook.config.ts (`api`, `db`, …). */
  target: target(),
  ...modeFields,
});

const podKill = strictObject({ ...targeted('pod-kill') }).transform((f, ctx): FaultSpec => ({
  kind: 'pod-kill',
  target: f.target,
  selection: selectionOf(f, ctx),
}));

const podFailure = strictObject({
  ...targeted('pod-failure'),
  /** How long the replicas stay stopped: '30s', '2m' or milliseconds, above 0. */
  duration: duration(),
}).transform((f, ctx): FaultSpec => ({ kind: 'pod-failure', target: f.target, selection: selectionOf(f, ctx), duration: f.duration }));

const network = strictObject({
  ...targeted('network'),
  /** How long the traffic is disturbed: '30s', '2m' or milliseconds, above 0. */
  duration: duration(),
  /** Latency added to each packet/chunk: '300ms' or milliseconds, above 0. One effect at least: delay, loss, reset, blackhole or bandwidth. */
  delay: duration().optional(),
  /** Random variation around `delay` ('50ms' or milliseconds); needs a delay. */
  jitter: duration({ allowZero: true }).optional(),
  /** Share of packets/chunks dropped: '10%' or a fraction such as 0.1. */
  loss: fraction().optional(),
  /** Reset connections (TCP RST) instead of carrying them. @default false */
  reset: z.boolean().optional(),
  /** Partition: accept connections, carry nothing. @default false */
  blackhole: z.boolean().optional(),
  /** Bandwidth limit in bytes per second, above 0 (125000 = 1 Mbit/s). */
  bandwidth: z
    .number()
    .positive({ error: withFix('bandwidth must be above 0', 'give bytes per second, e.g. bandwidth: 125000 (1 Mbit/s)') })
    .optional(),
  /** Which traffic is disturbed: to the target, from it, or both. @default 'to' */
  direction: z.enum(['to', 'from', 'both'], { error: withFix('unknown direction', "use direction 'to', 'from' or 'both'") }).optional(),
  /** The dependency whose traffic is affected (e.g. `db`). @default the target's inbound traffic */
  dependency: z.string().min(1).optional(),
}).transform((f, ctx): FaultSpec => {
  if (f.delay === undefined && f.loss === undefined && !f.reset && !f.blackhole && f.bandwidth === undefined)
    ctx.addIssue({
      code: 'custom',
      message: withFix('a network fault needs an effect', "add delay: '300ms', loss: '10%', reset: true, blackhole: true or bandwidth: <bytes/s>"),
    });
  if (f.jitter !== undefined && f.delay === undefined)
    ctx.addIssue({ code: 'custom', path: ['jitter'], message: withFix('jitter without a delay', "add delay: '300ms' beside the jitter") });
  return {
    kind: 'network',
    target: f.target,
    selection: selectionOf(f, ctx),
    duration: f.duration,
    direction: f.direction ?? 'to',
    ...(f.delay !== undefined ? { delay: f.delay } : {}),
    ...(f.jitter !== undefined ? { jitter: f.jitter } : {}),
    ...(f.loss !== undefined ? { loss: f.loss } : {}),
    ...(f.reset ? { reset: true } : {}),
    ...(f.blackhole ? { blackhole: true } : {}),
    ...(f.bandwidth !== undefined ? { bandwidth: f.bandwidth } : {}),
    ...(f.dependency ? { dependency: f.dependency } : {}),
  };
});

const dependencyOutage = strictObject({
  ...targeted('dependency-outage'),
  /** How long the dependency stays down: '30s', '2m' or milliseconds, above 0. */
  duration: duration(),
}).transform((f, ctx): FaultSpec => ({ kind: 'dependency-outage', target: f.target, selection: selectionOf(f, ctx), duration: f.duration }));

const stress = strictObject({
  ...targeted('stress'),
  /** How long the CPU is burned: '30s', '2m' or milliseconds, above 0. */
  duration: duration(),
  /** The CPU burn, as stress-ng's `--cpu` and `--cpu-load`. */
  cpu: strictObject({
    /** Number of busy workers, at least 1. */
    workers: z
      .number()
      .int()
      .min(1, { error: withFix('workers must be at least 1', 'give workers: 1 or more') }),
    /** Load per worker, in percent of one core: 1 to 100. */
    load: z
      .number()
      .min(1, { error: withFix('load is a percentage of one core, 1 to 100', 'give load: 80') })
      .max(100, { error: withFix('load is a percentage of one core, 1 to 100', 'give load: 80') }),
  }),
}).transform((f, ctx): FaultSpec => ({ kind: 'stress', target: f.target, selection: selectionOf(f, ctx), duration: f.duration, cpu: f.cpu }));

const migration = strictObject({
  ...targeted('migration'),
  /** SQL that goes in (run on the target database). */
  apply: z.string().min(1, { error: withFix('empty migration', 'give the SQL that goes in as apply') }),
  /** SQL that takes it out again; journaled before `apply` runs, so a crash still rolls back. */
  rollback: z
    .string({ error: withFix('a migration needs its rollback', 'give the SQL that takes it out again as rollback: it is journaled before apply runs') })
    .min(1, { error: withFix('empty rollback', 'give the SQL that takes the migration out again') }),
  /** How long the migration stays in before the rollback: '30s', '2m' or milliseconds. @default until recovery */
  duration: duration().optional(),
}).transform((f, ctx): FaultSpec => ({
  kind: 'migration',
  target: f.target,
  selection: selectionOf(f, ctx),
  apply: f.apply,
  rollback: f.rollback,
  ...(f.duration ? { duration: f.duration } : {}),
}));

const custom = strictObject({
  /** The fault's kind; `fault.custom` sets it. */
  fault: z.literal('custom'),
  /** The action's name, shown in the timeline and the evidence. */
  name: z.string().min(1, { error: withFix('a custom action needs a name', "give name: 'dr-dry-run'") }),
  /** A target name from the environment, if the action is about one. */
  target: z.string().optional(),
  /** What goes in: the path of a zx script (journaled by path, so it survives a crash) or an async function. */
  inject: action,
  /** What takes it out again: a zx script path or an async function. @default nothing to revert */
  revert: action.optional(),
  /** How long to wait between inject and revert: '30s', '2m' or milliseconds. @default until recovery */
  duration: duration().optional(),
}).transform((f): FaultSpec => ({
  kind: 'custom',
  name: f.name,
  inject: f.inject,
  ...(f.target ? { target: f.target } : {}),
  ...(f.revert ? { revert: f.revert } : {}),
  ...(f.duration ? { duration: f.duration } : {}),
}));

const faultKinds = { 'pod-kill': podKill, 'pod-failure': podFailure, network, 'dependency-outage': dependencyOutage, stress, migration, custom };

/** A fault as written → a FaultSpec; an unknown kind names the closest known one. */
export const faultSchema = byKind('fault', faultKinds, (kind) => {
  const guess = typeof kind === 'string' ? suggestKey(kind, Object.keys(faultKinds)) : undefined;
  return {
    path: typeof kind === 'string' ? ['fault'] : [],
    message: withFix(
      typeof kind === 'string' ? `unknown fault kind '${kind}'` : 'expected a fault',
      guess
        ? `did you mean '${guess}'? Use fault.${camel(guess)}({ … })`
        : `build it with fault.podKill, fault.podFailure, fault.network, fault.dependencyOutage, fault.stress, fault.migration or fault.custom`,
    ),
  };
});

/** What a fault builder returns: the user's input, tagged with its kind in `fault`. */
export type FaultInput = z.input<typeof faultSchema>;
type Untagged<S extends z.ZodType> = Omit<z.input<S>, 'fault'>;
export type PodKillInput = Untagged<typeof podKill>;
export type PodFailureInput = Untagged<typeof podFailure>;
export type NetworkInput = Untagged<typeof network>;
export type DependencyOutageInput = Untagged<typeof dependencyOutage>;
export type StressInput = Untagged<typeof stress>;
export type MigrationInput = Untagged<typeof migration>;
export type CustomInput = Untagged<typeof custom>;

export const fault = {
  /** Kill one or more replicas/pods (SIGKILL locally, PodChaos pod-kill on Kubernetes). */
  podKill: (input: PodKillInput): FaultInput => ({ fault: 'pod-kill', ...input }),
  /** Make replicas unavailable for a duration (SIGSTOP locally, PodChaos pod-failure). */
  podFailure: (input: PodFailureInput): FaultInput => ({ fault: 'pod-failure', ...input }),
  /** Delay, jitter, loss, reset, blackhole or throttle traffic (fault proxy locally, NetworkChaos). */
  network: (input: NetworkInput): FaultInput => ({ fault: 'network', ...input }),
  /** Take a dependency down for a duration (the stage's PostgreSQL stopped; NetworkChaos partition). */
  dependencyOutage: (input: DependencyOutageInput): FaultInput => ({ fault: 'dependency-outage', ...input }),
  /** Burn CPU (stress-ng locally, StressChaos). */
  stress: (input: StressInput): FaultInput => ({ fault: 'stress', ...input }),
  /** Apply a schema change and roll it back (seed game-day 2). */
  migration: (input: MigrationInput): FaultInput => ({ fault: 'migration', ...input }),
  /** The team's own action: a zx script path or a function. */
  custom: (input: CustomInput): FaultInput => ({ fault: 'custom', ...input }),
};

function camel(kind: string): string {
  return kind.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
