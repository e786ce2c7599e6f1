// Building blocks every definition schema shares: durations, percentages, selection
// modes, strict objects that suggest the key you meant, kinds picked by a field, and
// the one mapping from zod's issues to DefinitionIssues (path, problem, fix).
// Each field is declared once, in its schema, with its JSDoc: the input types users
// write are z.input of the schemas, so the docs show up in their editor.
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import type { DefinitionIssue } from './errors.ts';

/** A message carrying its fix: `problem␟fix`. Split again in issuesFromZod. */
const SEP = '\u241f';
export const withFix = (problem: string, fix: string) => `${problem}${SEP}${fix}`;

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/** A duration written as '30s', '2m', '1h30m' or milliseconds; `min` excludes zero by default. */
export function duration(opts: { allowZero?: boolean } = {}) {
  return z
    .union([z.string(), z.number()], { error: withFix('expected a duration', "write a duration such as '30s', '2m' or a number of milliseconds") })
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || (!opts.allowZero && ms === 0)) {
        ctx.addIssue({
          code: 'custom',
          message: withFix(
            `expected a ${opts.allowZero ? '' : 'positive '}duration, got ${show(v)}`,
            "write a duration such as '500ms', '30s', '2m', '1h' (units ms s m h d w) or a number of milliseconds" + (opts.allowZero ? '' : ' above 0'),
          ),
        });
        return z.NEVER;
      }
      return ms;
    });
}

/** A fraction: '5%' or 0.05, within 0..1. */
export function fraction() {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\s*\d+(\.\d+)?\s*%\s*$/.test(v) ? Number(v.trim().replace('%', '')) / 100 : Number.NaN;
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      ctx.addIssue({
        code: 'custom',
        message: withFix(`expected a share between 0 and 1 (or '0%'–'100%'), got ${show(v)}`, "write a percentage such as '5%' or a fraction such as 0.05"),
      });
      return z.NEVER;
    }
    return n;
  });
}

export const name = () =>
  z
    .string({ error: withFix('expected a name', 'give a short name such as "replica-loss"') })
    .regex(/^[a-z0-9][a-z0-9._-]*$/i, { error: withFix('a name is letters, digits, dots, dashes and underscores', 'rename it, e.g. "replica-loss"') });

/** Chaos Mesh's selection modes, as users write them: `mode` plus `value` where it needs one. */
export const modeFields = {
  /**
   * Which of the target's replicas/pods the fault hits: `'one'` (picked at random), `'all'`,
   * `'fixed'` (`value` of them) or `'fixed-percent'` (`value` percent of them), as Chaos Mesh's `mode`.
   * @default 'one'
   */
  mode: z
    .enum(['one', 'all', 'fixed', 'fixed-percent'], {
      error: withFix('unknown mode', "use mode 'one', 'all', 'fixed' (with value) or 'fixed-percent' (with value)"),
    })
    .optional(),
  /** How many (`mode: 'fixed'`, at least 1) or what percentage, 1–100 (`mode: 'fixed-percent'`); unused otherwise. */
  value: z.number().optional(),
};

export function selectionOf(input: { mode?: 'one' | 'all' | 'fixed' | 'fixed-percent' | undefined; value?: number | undefined }, ctx: z.RefinementCtx) {
  const mode = input.mode ?? 'one';
  if (mode === 'one' || mode === 'all') return { mode } as const;
  const value = input.value;
  const max = mode === 'fixed-percent' ? 100 : Number.MAX_SAFE_INTEGER;
  if (value === undefined || !Number.isInteger(value) || value < 1 || value > max) {
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message: withFix(
        `mode '${mode}' needs a whole-number value${mode === 'fixed-percent' ? ' from 1 to 100' : ' of at least 1'}, got ${show(value)}`,
        `add value: ${mode === 'fixed-percent' ? 50 : 1}`,
      ),
    });
    return { mode: 'one' } as const;
  }
  return { mode, value } as const;
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
  return d[a.length]![b.length]!;
}

export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(unknown, k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(unknown.length / 3)) ? best : undefined;
}

/** A strict object: unknown keys are errors whose fix names the closest known key. */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z
    .object(shape)
    .catchall(z.unknown())
    .superRefine((value, ctx) => {
      for (const key of Object.keys(value as object)) {
        if (known.includes(key)) continue;
        const guess = suggestKey(key, known);
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: withFix(`unknown field '${key}'`, guess ? `did you mean '${guess}'?` : `remove it; the fields here are ${known.join(', ')}`),
        });
      }
    }) as unknown as z.ZodType<z.infer<z.ZodObject<T>>, z.input<z.ZodObject<T>>>;
}

/**
 * A reference to another definition (what a defineX call returned), checked by `shape` only
 * and kept whole. Typed as T, so an editor asks for the definition rather than for its fields.
 */
export function refTo<T extends object>(shape: z.ZodRawShape, error?: string): z.ZodType<T, T> {
  return z.object(shape, error === undefined ? undefined : { error }).passthrough() as unknown as z.ZodType<T, T>;
}

/**
 * One schema per kind, picked by the field `key` (`fault`, `probe`, `kind`, …) so every issue
 * keeps its full path. The input type is the union of the kinds' inputs, which editors narrow
 * on `key`; `unknownKind` words the issue when no schema has that kind.
 */
export function byKind<S extends Record<string, z.ZodType>>(
  key: string,
  schemas: S,
  unknownKind: (kind: unknown) => { path?: PropertyKey[]; message: string },
) {
  return z.unknown().transform((input, ctx) => {
    const kind = (input as Record<string, unknown> | null | undefined)?.[key];
    const schema = typeof kind === 'string' && Object.hasOwn(schemas, kind) ? schemas[kind] : undefined;
    if (!schema) {
      const { path, message } = unknownKind(kind);
      ctx.addIssue({ code: 'custom', message, ...(path ? { path } : {}) });
      return z.NEVER;
    }
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as never);
      return z.NEVER;
    }
    return parsed.data;
  }) as unknown as z.ZodType<z.output<S[keyof S]>, z.input<S[keyof S]>>;
}

export function pathText(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** zod's issues → DefinitionIssues, with a fix for every one (from the message, else from `fixFor`). */
export function issuesFromZod(
  error: z.ZodError,
  fixFor: (path: string, issue: z.core.$ZodIssue) => string,
  prefix: ReadonlyArray<PropertyKey> = [],
): DefinitionIssue[] {
  const out: DefinitionIssue[] = [];
  const seen = new Set<string>();
  for (const issue of error.issues) {
    const path = pathText([...prefix, ...issue.path]);
    let problem = issue.message;
    let fix: string;
    if (problem.includes(SEP)) [problem, fix] = problem.split(SEP) as [string, string];
    else {
      if (issue.code === 'invalid_type')
        problem = issue.input === undefined ? `missing (expected ${issue.expected})` : `expected ${issue.expected}, got ${show(issue.input)}`;
      fix = fixFor(path, issue);
    }
    const key = `${path}|${problem}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, problem, fix });
  }
  return out;
}
