// A bake: a long period (72 h by default) at steady load with synthetics on a schedule,
// checkpointed (hourly by default) so a restart loses at most one interval.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { duration, issuesFromZod, name, refTo, strictObject, withFix } from './schema-kit.ts';
import type { Defined, Millis, SloRef } from './types.ts';

// BakePlan stays hand-written: defineBake fills in defaults and reduces references to names.
export interface BakePlan extends Defined<'bake'> {
  readonly title: string;
  readonly environments: string[];
  readonly duration: Millis;
  readonly checkpoint: Millis;
  /** Load profile names; the objects are in `uses`. */
  readonly load: string[];
  readonly synthetics: { every: Millis; journeys: string[] };
  readonly verdict: { sev1: number; slos: Array<{ id: string; objective: number; periodMs: number }> };
  readonly uses: { load: Defined<'load-profile'>[]; journeys: Defined<'journey'>[] };
  /** A drill-like plan for listing (`drill list`). */
  readonly plan: { title: string; environments: string[] };
}

/** An SLO as defineSlo returned it; the verdict needs its objective and period. */
type BakeSlo = SloRef & { readonly objective: number; readonly period: Millis };

const schema = strictObject({
  /** The bake's name: letters, digits, dots, dashes, underscores (`bake-72h`). */
  name: name(),
  /** A human title for listings and the report. @default the name */
  title: z.string().optional(),
  /** Environment names from drillbook.config.ts this may run in; deny by default, so at least one. */
  environments: z.array(z.string().min(1)).min(1, { error: withFix('no environment allows this bake', "write environments: ['local']") }),
  /** How long the bake runs: '72h' or milliseconds. @default '72h' */
  duration: duration().optional(),
  /** How often progress is checkpointed (a restart loses at most this): '1h' or milliseconds, within the duration. @default '1h' */
  checkpoint: duration().optional(),
  /** Load profiles run throughout, as defineLoadProfile returned them (imported from load/). @default [] */
  load: z.array(refTo<Defined<'load-profile'>>({ kind: z.literal('load-profile'), name: z.string() })).optional(),
  /** Synthetic journeys run on a schedule. */
  synthetics: strictObject({
    /** How often the journeys run: '5m' or milliseconds. @default '5m' */
    every: duration().optional(),
    /** The journeys, as defineJourney or defineBrowserJourney returned them (imported from synthetics/). @default [] */
    journeys: z.array(refTo<Defined<'journey'>>({ kind: z.literal('journey'), name: z.string() })).optional(),
  }).optional(),
  /** What the bake must show to pass. */
  verdict: strictObject({
    /** The most sev-1 incidents allowed. @default 0 */
    sev1: z.number().int().min(0).optional(),
    /** SLOs (from defineSlo, imported from alerts/) whose objectives must hold over the bake. @default [] */
    slos: z
      .array(refTo<BakeSlo>({ kind: z.literal('slo'), id: z.string(), objective: z.number(), period: z.number() }), {
        error: withFix('expected SLOs made with defineSlo', 'import them from alerts/'),
      })
      .optional(),
  }).optional(),
});

/** A bake as written: what defineBake takes. */
export type BakeInput = z.input<typeof schema>;

export function defineBake(input: BakeInput, file?: string): BakePlan {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new DefinitionError(
      file,
      issuesFromZod(parsed.error, () => 'see defineBake in docs/definitions.md'),
    );
  const d = parsed.data;
  const dur = d.duration ?? 72 * 3_600_000;
  const checkpoint = d.checkpoint ?? 3_600_000;
  if (checkpoint > dur)
    throw new DefinitionError(file, [
      { path: 'checkpoint', problem: 'the checkpoint interval is longer than the bake', fix: "use a checkpoint such as '1h' within the duration" },
    ]);
  const title = d.title ?? d.name;
  return {
    kind: 'bake',
    name: d.name,
    title,
    environments: d.environments,
    duration: dur,
    checkpoint,
    load: (d.load ?? []).map((l) => l.name),
    synthetics: { every: d.synthetics?.every ?? 300_000, journeys: (d.synthetics?.journeys ?? []).map((j) => j.name) },
    verdict: { sev1: d.verdict?.sev1 ?? 0, slos: (d.verdict?.slos ?? []).map((s) => ({ id: s.id, objective: s.objective, periodMs: s.period })) },
    uses: { load: d.load ?? [], journeys: d.synthetics?.journeys ?? [] },
    plan: { title, environments: d.environments },
  };
}

export function isBakePlan(v: unknown): v is BakePlan {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'bake' && 'checkpoint' in v;
}
