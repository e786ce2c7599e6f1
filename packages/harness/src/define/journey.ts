// Synthetic journeys: multi-step HTTP flows with values passed between steps and
// assertions per step (status, JSON path, header, response time), plus the spans a
// complete trace of each step must contain (for trace coverage).
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { issuesFromZod, name, strictObject, withFix } from './schema-kit.ts';
import type { Defined, Millis } from './types.ts';

export type JsonExpectation = 'exists' | 'absent' | string | number | boolean | null;

export interface JourneyStep {
  name: string;
  request: { method: string; path: string; headers: Record<string, string>; json?: unknown; body?: string };
  expect: { status: number[]; maxMs?: Millis; json: Record<string, JsonExpectation>; headers: Record<string, string> };
  /** Variables taken from the JSON response: `{ caseId: '$.caseId' }`. */
  save: Record<string, string>;
  /** Span names a complete backend trace of this step contains (server span first). */
  spans: string[];
}

export interface Journey extends Defined<'journey'> {
  readonly target: string;
  readonly critical: boolean;
  readonly steps: JourneyStep[];
  readonly trace: { services: string[] };
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export interface JourneyInput {
  name: string;
  target?: string;
  critical?: boolean;
  steps: Array<{
    name: string;
    request: { method?: string; path: string; headers?: Record<string, string>; json?: Json; body?: string };
    expect?: { status?: number | number[]; maxMs?: number; json?: Record<string, JsonExpectation>; headers?: Record<string, string> };
    save?: Record<string, string>;
    /** Spans of this step's backend trace; defaults to trace.spans[i]. */
    spans?: string[];
  }>;
  trace?: { services?: string[]; spans?: string[] };
}

const jsonPath = z.string().regex(/^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$/, { error: withFix('not a JSON path this tool reads', "write paths like '$.caseId' or '$.clusters[0].key'") });

const schema = strictObject({
  name: name(),
  target: z.string().min(1).optional(),
  critical: z.boolean().optional(),
  steps: z
    .array(
      strictObject({
        name: name(),
        request: strictObject({ method: z.string().optional(), path: z.string().startsWith('/', { error: withFix('a path starts with /', "write path: '/ingest'") }), headers: z.record(z.string(), z.string()).optional(), json: z.unknown().optional(), body: z.string().optional() }),
        expect: strictObject({ status: z.union([z.number().int(), z.array(z.number().int())]).optional(), maxMs: z.number().positive().optional(), json: z.record(jsonPath, z.unknown()).optional(), headers: z.record(z.string(), z.string()).optional() }).optional(),
        save: z.record(z.string(), jsonPath).optional(),
        spans: z.array(z.string()).optional(),
      }),
    )
    .min(1, { error: withFix('a journey needs at least one step', "add steps: [{ name: 'ingest', request: { method: 'POST', path: '/ingest' } }]") }),
  trace: strictObject({ services: z.array(z.string()).optional(), spans: z.array(z.string()).optional() }).optional(),
});

export function defineJourney(input: JourneyInput, file?: string): Journey {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, () => 'see defineJourney in API-SKETCH.md'));
  const d = parsed.data;
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  const defined = new Set<string>();
  const steps = d.steps.map((s, i): JourneyStep => {
    // A {{var}} must be saved by an earlier step.
    for (const v of JSON.stringify(s.request).match(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g) ?? []) {
      const varName = v.replace(/[{}\s]/g, '');
      if (!defined.has(varName)) issues.push({ path: `steps[${i}].request`, problem: `uses {{${varName}}} before any step saves it`, fix: `save it in an earlier step: save: { ${varName}: '$.${varName}' }` });
    }
    for (const k of Object.keys(s.save ?? {})) defined.add(k);
    const status = s.expect?.status;
    const method = (s.request.method ?? (s.request.json !== undefined ? 'POST' : 'GET')).toUpperCase();
    return {
      name: s.name,
      request: { method, path: s.request.path, headers: { ...(s.request.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(s.request.headers ?? {}) }, ...(s.request.json !== undefined ? { json: s.request.json } : {}), ...(s.request.body !== undefined ? { body: s.request.body } : {}) },
      expect: { status: status === undefined ? [200, 201, 202, 204] : Array.isArray(status) ? status : [status], ...(s.expect?.maxMs ? { maxMs: s.expect.maxMs } : {}), json: (s.expect?.json ?? {}) as Record<string, JsonExpectation>, headers: s.expect?.headers ?? {} },
      save: s.save ?? {},
      spans: s.spans ?? (d.trace?.spans?.[i] ? [d.trace.spans[i]!] : []),
    };
  });
  if (issues.length) throw new DefinitionError(file, issues);
  return { kind: 'journey', name: d.name, target: d.target ?? 'api', critical: d.critical ?? false, steps, trace: { services: d.trace?.services ?? [] } };
}

/** An HTTP journey (browser journeys: isBrowserJourney in browser-journey.ts). */
export function isJourney(v: unknown): v is Journey {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'journey' && (v as { runner?: unknown }).runner !== 'browser' && Array.isArray((v as { steps?: unknown }).steps);
}
