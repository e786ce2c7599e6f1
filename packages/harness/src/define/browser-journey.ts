// Browser journeys: a user's walk through the service's web page in Chromium — open a page,
// fill, click, and check what the page shows — with the API routes each step calls, so the
// backend trace of every request the page makes is found by id (trace coverage) and the
// Faro session of the run is linked to those traces.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { duration, issuesFromZod, name, strictObject, withFix } from './schema-kit.ts';
import type { Defined, Millis } from './types.ts';

export type BrowserAction = { goto: string } | { click: string } | { fill: { selector: string; value: string } };

export interface BrowserStep {
  name: string;
  action: BrowserAction;
  /** What the page shows when the step has worked: `text` in a selector (substring), or an element visible. */
  expect: { text?: { selector: string; contains: string }; visible?: string; maxMs?: Millis };
  /** Span names a complete backend trace of the requests this step makes contains. */
  spans: string[];
}

export interface BrowserJourney extends Defined<'journey'> {
  readonly runner: 'browser';
  readonly target: string;
  readonly critical: boolean;
  readonly steps: BrowserStep[];
  readonly trace: { services: string[] };
  /** How long a step may take before it fails (default 10 s). */
  readonly stepTimeout: Millis;
}

export interface BrowserJourneyInput {
  name: string;
  target?: string;
  critical?: boolean;
  stepTimeout?: string | number;
  steps: Array<{
    name: string;
    goto?: string;
    click?: string;
    fill?: { selector: string; value: string };
    expect?: { text?: [selector: string, contains: string]; visible?: string; maxMs?: string | number };
    spans?: string[];
  }>;
  trace?: { services?: string[] };
}

const selector = () => z.string().min(1, { error: withFix('an empty selector', "write a CSS selector such as '#ingest'") });

const schema = strictObject({
  name: name(),
  target: z.string().min(1).optional(),
  critical: z.boolean().optional(),
  stepTimeout: duration().optional(),
  steps: z
    .array(
      strictObject({
        name: name(),
        goto: z.string().startsWith('/', { error: withFix('a page path starts with /', "write goto: '/'") }).optional(),
        click: selector().optional(),
        fill: strictObject({ selector: selector(), value: z.string() }).optional(),
        expect: strictObject({
          text: z.tuple([selector(), z.string()], { error: withFix('expected [selector, text]', "write text: ['#status', '→ 201']") }).optional(),
          visible: selector().optional(),
          maxMs: duration().optional(),
        }).optional(),
        spans: z.array(z.string()).optional(),
      }),
    )
    .min(1, { error: withFix('a browser journey needs at least one step', "add steps: [{ name: 'open', goto: '/' }]") }),
  trace: strictObject({ services: z.array(z.string()).optional() }).optional(),
});

export function defineBrowserJourney(input: BrowserJourneyInput, file?: string): BrowserJourney {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, () => 'see synthetics/browser-ingest-resolve-report.ts for a complete example'));
  const d = parsed.data;
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  const steps = d.steps.map((s, i): BrowserStep => {
    const actions = (['goto', 'click', 'fill'] as const).filter((k) => s[k] !== undefined);
    if (actions.length !== 1)
      issues.push({ path: `steps[${i}]`, problem: actions.length ? `has ${actions.join(' and ')}: one action per step` : 'has no action', fix: "give each step exactly one of goto: '/path', click: '#selector' or fill: { selector, value }" });
    const action: BrowserAction = s.goto !== undefined ? { goto: s.goto } : s.click !== undefined ? { click: s.click } : { fill: s.fill ?? { selector: '', value: '' } };
    return {
      name: s.name,
      action,
      expect: { ...(s.expect?.text ? { text: { selector: s.expect.text[0], contains: s.expect.text[1] } } : {}), ...(s.expect?.visible ? { visible: s.expect.visible } : {}), ...(s.expect?.maxMs ? { maxMs: s.expect.maxMs } : {}) },
      spans: s.spans ?? [],
    };
  });
  if (steps[0] && !('goto' in steps[0].action)) issues.push({ path: 'steps[0]', problem: 'the first step does not open a page', fix: "start with { name: 'open', goto: '/' }" });
  if (issues.length) throw new DefinitionError(file, issues);
  return { kind: 'journey', runner: 'browser', name: d.name, target: d.target ?? 'api', critical: d.critical ?? false, steps, trace: { services: d.trace?.services ?? [] }, stepTimeout: d.stepTimeout ?? 10_000 };
}

export function isBrowserJourney(v: unknown): v is BrowserJourney {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'journey' && (v as { runner?: unknown }).runner === 'browser';
}
