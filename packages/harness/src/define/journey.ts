// Synthetic journeys: multi-step HTTP flows with values passed between steps and
// assertions per step (status, JSON path, header, response time), plus the spans a
// complete trace of each step must contain (for trace coverage).
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { issuesFromZod, name, strictObject, withFix } from './schema-kit.ts';
import type { Defined, Millis } from './types.ts';

/** What a JSON path must hold: 'exists', 'absent', or a value it must equal. */
export type JsonExpectation = 'exists' | 'absent' | string | number | boolean | null;
type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

export interface JourneyStep {
  name: string;
  request: { method: string; path: string; headers: Record<string, string>; json?: unknown; body?: string };
  expect: { status: number[]; maxMs?: Millis; json: Record<string, JsonExpectation>; headers: Record<string, string> };
  /** Variables taken from the JSON response: `{ caseId: '$.caseId' }`. */
  save: Record<string, string>;
  /** Span names a complete backend trace of this step contains (server span first). */
  spans: string[];
}

// JourneyStep and Journey stay hand-written: the schema's defaults (method, headers, status,
// spans from trace.spans) are filled in by defineJourney.
export interface Journey extends Defined<'journey'> {
  readonly target: string;
  readonly critical: boolean;
  readonly steps: JourneyStep[];
  readonly trace: { services: string[] };
}

const jsonPath = z.string().regex(/^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$/, {
  error: withFix('not a JSON path this tool reads', "write paths like '$.caseId' or '$.clusters[0].key'"),
});

// Any value is accepted at run time, as before; the types say what makes sense.
const json = z.custom<Json>();
const jsonExpectation = z.custom<JsonExpectation>();

const schema = strictObject({
  /** The journey's name: letters, digits, dots, dashes, underscores (`ingest-resolve-report`). */
  name: name(),
  /** The environment target the requests go to. @default 'api' */
  target: z.string().min(1).optional(),
  /** A critical journey's failure fails the run. @default false */
  critical: z.boolean().optional(),
  /** The steps, in order; at least one. */
  steps: z
    .array(
      strictObject({
        /** The step's name, shown in results and traces. */
        name: name(),
        /** The request; `{{var}}` in it is replaced by a value an earlier step saved. */
        request: strictObject({
          /** The HTTP method. @default 'POST' with json, else 'GET' */
          method: z.string().optional(),
          /** A path on the target, starting with `/`. */
          path: z.string().startsWith('/', { error: withFix('a path starts with /', "write path: '/ingest'") }),
          /** Request headers. @default content-type: application/json with json */
          headers: z.record(z.string(), z.string()).optional(),
          /** A body sent as JSON. */
          json: json.optional(),
          /** A body sent as it is. */
          body: z.string().optional(),
        }),
        /** What the response must show for the step to pass. */
        expect: strictObject({
          /** Accepted status code(s). @default [200, 201, 202, 204] */
          status: z.union([z.number().int(), z.array(z.number().int())]).optional(),
          /** Slowest passing response, in milliseconds. @default no limit */
          maxMs: z.number().positive().optional(),
          /** JSON path (`$.caseId`, `$.clusters[0].key`) → 'exists', 'absent' or the value it must equal. @default {} */
          json: z.record(jsonPath, jsonExpectation).optional(),
          /** Response headers that must have these values. @default {} */
          headers: z.record(z.string(), z.string()).optional(),
        }).optional(),
        /** Variables taken from the JSON response for later steps: `{ caseId: '$.caseId' }`. @default {} */
        save: z.record(z.string(), jsonPath).optional(),
        /** Span names a complete backend trace of this step contains (server span first). @default [trace.spans[i]] */
        spans: z.array(z.string()).optional(),
      }),
    )
    .min(1, { error: withFix('a journey needs at least one step', "add steps: [{ name: 'ingest', request: { method: 'POST', path: '/ingest' } }]") }),
  /** What the journey's traces must contain, for trace coverage. */
  trace: strictObject({
    /** Services every step's trace passes through. @default [] */
    services: z.array(z.string()).optional(),
    /** One span name per step (the short form of each step's `spans`). */
    spans: z.array(z.string()).optional(),
  }).optional(),
});

/** A synthetic journey as written: what defineJourney takes. */
export type JourneyInput = z.input<typeof schema>;

export function defineJourney(input: JourneyInput, file?: string): Journey {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new DefinitionError(
      file,
      issuesFromZod(parsed.error, () => 'see defineJourney in docs/definitions.md'),
    );
  const d = parsed.data;
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  const defined = new Set<string>();
  const steps = d.steps.map((s, i): JourneyStep => {
    // A {{var}} must be saved by an earlier step.
    for (const v of JSON.stringify(s.request).match(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g) ?? []) {
      const varName = v.replace(/[{}\s]/g, '');
      if (!defined.has(varName))
        issues.push({
          path: `steps[${i}].request`,
          problem: `uses {{${varName}}} before any step saves it`,
          fix: `save it in an earlier step: save: { ${varName}: '$.${varName}' }`,
        });
    }
    for (const k of Object.keys(s.save ?? {})) defined.add(k);
    const status = s.expect?.status;
    const method = (s.request.method ?? (s.request.json !== undefined ? 'POST' : 'GET')).toUpperCase();
    return {
      name: s.name,
      request: {
        method,
        path: s.request.path,
        headers: { ...(s.request.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(s.request.headers ?? {}) },
        ...(s.request.json !== undefined ? { json: s.request.json } : {}),
        ...(s.request.body !== undefined ? { body: s.request.body } : {}),
      },
      expect: {
        status: status === undefined ? [200, 201, 202, 204] : Array.isArray(status) ? status : [status],
        ...(s.expect?.maxMs ? { maxMs: s.expect.maxMs } : {}),
        json: s.expect?.json ?? {},
        headers: s.expect?.headers ?? {},
      },
      save: s.save ?? {},
      spans: s.spans ?? (d.trace?.spans?.[i] ? [d.trace.spans[i]!] : []),
    };
  });
  if (issues.length) throw new DefinitionError(file, issues);
  return { kind: 'journey', name: d.name, target: d.target ?? 'api', critical: d.critical ?? false, steps, trace: { services: d.trace?.services ?? [] } };
}

/** An HTTP journey (browser journeys: isBrowserJourney in browser-journey.ts). */
export function isJourney(v: unknown): v is Journey {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { kind?: unknown }).kind === 'journey' &&
    (v as { runner?: unknown }).runner !== 'browser' &&
    Array.isArray((v as { steps?: unknown }).steps)
  );
}
