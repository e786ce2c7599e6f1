// Faults as users write them (`fault.network({ target: 'db', delay: '300ms', duration: '2m' })`)
// and their schema. Builders only tag the input; defineDrill/defineGameDay validate it
// in place, so every error carries its full path (`phases[2].fault.delay`).
import { z } from 'zod';
import type { CustomActionContext, FaultSpec } from './types.ts';
import { duration, fraction, modeFields, selectionOf, strictObject, suggestKey, withFix } from './schema-kit.ts';

type Mode = 'one' | 'all' | 'fixed' | 'fixed-percent';
interface Targeted {
  target: string;
  mode?: Mode;
  value?: number;
}
type Dur = string | number;

export interface PodKillInput extends Targeted {}
export interface PodFailureInput extends Targeted {
  duration: Dur;
}
export interface NetworkInput extends Targeted {
  duration: Dur;
  delay?: Dur;
  jitter?: Dur;
  loss?: string | number;
  reset?: boolean;
  blackhole?: boolean;
  /** Bytes per second. */
  bandwidth?: number;
  direction?: 'to' | 'from' | 'both';
  dependency?: string;
}
export interface DependencyOutageInput extends Targeted {
  duration: Dur;
}
export interface StressInput extends Targeted {
  duration: Dur;
  cpu: { workers: number; load: number };
}
export interface MigrationInput extends Targeted {
  apply: string;
  rollback: string;
  duration?: Dur;
}
export interface CustomInput {
  name: string;
  target?: string;
  inject: string | ((ctx: CustomActionContext) => Promise<void>);
  revert?: string | ((ctx: CustomActionContext) => Promise<void>);
  duration?: Dur;
}

/** What a fault builder returns: the user's input, tagged with its kind. */
export type FaultInput =
  | ({ fault: 'pod-kill' } & PodKillInput)
  | ({ fault: 'pod-failure' } & PodFailureInput)
  | ({ fault: 'network' } & NetworkInput)
  | ({ fault: 'dependency-outage' } & DependencyOutageInput)
  | ({ fault: 'stress' } & StressInput)
  | ({ fault: 'migration' } & MigrationInput)
  | ({ fault: 'custom' } & CustomInput);

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

const FAULT_KINDS = ['pod-kill', 'pod-failure', 'network', 'dependency-outage', 'stress', 'migration', 'custom'] as const;

const target = () => z.string({ error: withFix('missing target', "name a target of the environment, e.g. target: 'api'") }).min(1, { error: withFix('empty target', "name a target of the environment, e.g. target: 'api'") });

const action = z.union([z.string().min(1), z.custom<(ctx: CustomActionContext) => Promise<void>>((v) => typeof v === 'function')], {
  error: withFix('expected a script path or a function', "give the path of a zx script (e.g. 'scripts/dr-dry-run.mjs') or an async function"),
});

const targeted = { fault: z.string(), target: target(), ...modeFields };

const podKill = strictObject({ ...targeted }).transform((f, ctx): FaultSpec => ({ kind: 'pod-kill', target: f.target, selection: selectionOf(f, ctx) }));

const podFailure = strictObject({ ...targeted, duration: duration() }).transform(
  (f, ctx): FaultSpec => ({ kind: 'pod-failure', target: f.target, selection: selectionOf(f, ctx), duration: f.duration }),
);

const network = strictObject({
  ...targeted,
  duration: duration(),
  delay: duration().optional(),
  jitter: duration({ allowZero: true }).optional(),
  loss: fraction().optional(),
  reset: z.boolean().optional(),
  blackhole: z.boolean().optional(),
  bandwidth: z.number().positive({ error: withFix('bandwidth must be above 0', 'give bytes per second, e.g. bandwidth: 125000 (1 Mbit/s)') }).optional(),
  direction: z.enum(['to', 'from', 'both'], { error: withFix('unknown direction', "use direction 'to', 'from' or 'both'") }).optional(),
  dependency: z.string().min(1).optional(),
}).transform((f, ctx): FaultSpec => {
  if (f.delay === undefined && f.loss === undefined && !f.reset && !f.blackhole && f.bandwidth === undefined)
    ctx.addIssue({ code: 'custom', message: withFix('a network fault needs an effect', "add delay: '300ms', loss: '10%', reset: true, blackhole: true or bandwidth: <bytes/s>") });
  if (f.jitter !== undefined && f.delay === undefined) ctx.addIssue({ code: 'custom', path: ['jitter'], message: withFix('jitter without a delay', "add delay: '300ms' beside the jitter") });
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

const dependencyOutage = strictObject({ ...targeted, duration: duration() }).transform(
  (f, ctx): FaultSpec => ({ kind: 'dependency-outage', target: f.target, selection: selectionOf(f, ctx), duration: f.duration }),
);

const stress = strictObject({
  ...targeted,
  duration: duration(),
  cpu: strictObject({
    workers: z.number().int().min(1, { error: withFix('workers must be at least 1', 'give workers: 1 or more') }),
    load: z.number().min(1, { error: withFix('load is a percentage of one core, 1 to 100', 'give load: 80') }).max(100, { error: withFix('load is a percentage of one core, 1 to 100', 'give load: 80') }),
  }),
}).transform((f, ctx): FaultSpec => ({ kind: 'stress', target: f.target, selection: selectionOf(f, ctx), duration: f.duration, cpu: f.cpu }));

const migration = strictObject({
  ...targeted,
  apply: z.string().min(1, { error: withFix('empty migration', 'give the SQL that goes in as apply') }),
  rollback: z.string({ error: withFix('a migration needs its rollback', 'give the SQL that takes it out again as rollback: it is journaled before apply runs') }).min(1, { error: withFix('empty rollback', 'give the SQL that takes the migration out again') }),
  duration: duration().optional(),
}).transform((f, ctx): FaultSpec => ({ kind: 'migration', target: f.target, selection: selectionOf(f, ctx), apply: f.apply, rollback: f.rollback, ...(f.duration ? { duration: f.duration } : {}) }));

const custom = strictObject({
  fault: z.string(),
  name: z.string().min(1, { error: withFix('a custom action needs a name', "give name: 'dr-dry-run'") }),
  target: z.string().optional(),
  inject: action,
  revert: action.optional(),
  duration: duration().optional(),
}).transform(
  (f): FaultSpec => ({
    kind: 'custom',
    name: f.name,
    inject: f.inject,
    ...(f.target ? { target: f.target } : {}),
    ...(f.revert ? { revert: f.revert } : {}),
    ...(f.duration ? { duration: f.duration } : {}),
  }),
);

const byKind: Record<(typeof FAULT_KINDS)[number], z.ZodType<FaultSpec>> = {
  'pod-kill': podKill,
  'pod-failure': podFailure,
  network,
  'dependency-outage': dependencyOutage,
  stress,
  migration,
  custom,
};

/** A fault as written → a FaultSpec; an unknown kind names the closest known one. */
export const faultSchema: z.ZodType<FaultSpec> = z.unknown().transform((input, ctx) => {
  const kind = (input as { fault?: unknown } | null)?.fault;
  const schema = typeof kind === 'string' ? byKind[kind as keyof typeof byKind] : undefined;
  if (!schema) {
    const guess = typeof kind === 'string' ? suggestKey(kind, FAULT_KINDS) : undefined;
    ctx.addIssue({
      code: 'custom',
      path: typeof kind === 'string' ? ['fault'] : [],
      message: withFix(
        typeof kind === 'string' ? `unknown fault kind '${kind}'` : 'expected a fault',
        guess ? `did you mean '${guess}'? Use fault.${camel(guess)}({ … })` : `build it with fault.podKill, fault.podFailure, fault.network, fault.dependencyOutage, fault.stress, fault.migration or fault.custom`,
      ),
    });
    return z.NEVER;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as never);
    return z.NEVER;
  }
  return parsed.data;
});

function camel(kind: string): string {
  return kind.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
