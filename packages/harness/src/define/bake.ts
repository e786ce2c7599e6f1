// A bake: a long period (72 h by default) at steady load with synthetics on a schedule,
// checkpointed (hourly by default) so a restart loses at most one interval.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { duration, issuesFromZod, name, strictObject, withFix } from './schema-kit.ts';
import type { Defined, Millis, SloRef } from './types.ts';

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

export interface BakeInput {
  name: string;
  title?: string;
  environments: string[];
  duration?: string | number;
  checkpoint?: string | number;
  load?: Defined<'load-profile'>[];
  synthetics?: { every?: string | number; journeys?: Defined<'journey'>[] };
  verdict?: { sev1?: number; slos?: SloRef[] };
}

const defined = (kind: string) => z.object({ kind: z.literal(kind), name: z.string() }).passthrough();

const schema = strictObject({
  name: name(),
  title: z.string().optional(),
  environments: z.array(z.string().min(1)).min(1, { error: withFix('no environment allows this bake', "write environments: ['local']") }),
  duration: duration().optional(),
  checkpoint: duration().optional(),
  load: z.array(defined('load-profile')).optional(),
  synthetics: strictObject({ every: duration().optional(), journeys: z.array(defined('journey')).optional() }).optional(),
  verdict: strictObject({
    sev1: z.number().int().min(0).optional(),
    slos: z.array(z.object({ kind: z.literal('slo'), id: z.string(), objective: z.number(), period: z.number() }).passthrough(), { error: withFix('expected SLOs made with defineSlo', 'import them from alerts/') }).optional(),
  }).optional(),
});

export function defineBake(input: BakeInput, file?: string): BakePlan {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, () => 'see defineBake in API-SKETCH.md'));
  const d = parsed.data;
  const dur = d.duration ?? 72 * 3_600_000;
  const checkpoint = d.checkpoint ?? 3_600_000;
  if (checkpoint > dur) throw new DefinitionError(file, [{ path: 'checkpoint', problem: 'the checkpoint interval is longer than the bake', fix: "use a checkpoint such as '1h' within the duration" }]);
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
    uses: { load: (d.load ?? []) as unknown as Defined<'load-profile'>[], journeys: (d.synthetics?.journeys ?? []) as unknown as Defined<'journey'>[] },
    plan: { title, environments: d.environments },
  };
}

export function isBakePlan(v: unknown): v is BakePlan {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'bake' && 'checkpoint' in v;
}
