// The pieces every `--json` document shares. Each command's output is declared once, as a zod
// schema: its TypeScript type is inferred from it and `drill schema <command>` prints it as a
// JSON Schema, so the type the code builds and the schema a consumer validates against are one.
import { z } from 'zod';
import type { Measure } from '../../measure/types.ts';

/** `drillbook.cli.<command>/v<n>`: changes only when a field changes meaning or goes away. */
export const schemaId = <C extends string>(command: C) => `drillbook.cli.${command}/v1` as const;

/** The fields every document starts with. */
export function envelope<C extends string>(command: C) {
  return {
    schema: z.literal(schemaId(command)).describe('which document this is; changes only when a field changes meaning or goes away'),
    command: z.literal(command),
    exitCode: z.int().min(0).max(4).describe("the command's exit code: 0 pass · 1 failed · 2 usage or definition error · 3 aborted · 4 environment error"),
  };
}

export const epochMs = z.number().describe('milliseconds since the Unix epoch');

export const MeasureOut = z
  .object({
    value: z.number().nullable().describe('the figure; null when it could not be measured (the note says why)'),
    unit: z.enum(['ms', 'ratio', 'x', 'count']),
    formula: z.string().describe('formula id, e.g. ttr.v2 (docs/measures.md); a changed formula gets a new id'),
    note: z.string().optional(),
  })
  .meta({ id: 'Measure', description: "a measured figure with the id of the formula that derived it (its raw inputs are in the pack's run record)" });
export type MeasureOut = z.infer<typeof MeasureOut>;

export const CheckOut = z
  .object({ name: z.string(), ok: z.boolean(), detail: z.string().describe('the figure behind the check, for people') })
  .meta({ id: 'Check', description: 'one check of the verdict' });
export type CheckOut = z.infer<typeof CheckOut>;

export const VerdictOut = z.enum(['pass', 'fail', 'aborted', 'error']);

export function measureOut(m: Measure): MeasureOut;
export function measureOut(m: Measure | undefined): MeasureOut | null;
export function measureOut(m: Measure | undefined): MeasureOut | null {
  if (!m) return null;
  return { value: m.value, unit: m.unit, formula: m.formula, ...(m.note !== undefined ? { note: m.note } : {}) };
}

export const checkOut = (c: { name: string; ok: boolean; detail: string }): CheckOut => ({ name: c.name, ok: c.ok, detail: c.detail });
