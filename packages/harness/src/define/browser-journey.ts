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

// BrowserStep and BrowserJourney stay hand-written: defineBrowserJourney turns the step's
// goto/click/fill into one `action` and the text tuple into an object.
export interface BrowserJourney extends Defined<'journey'> {
  readonly runner: 'browser';
  readonly target: string;
  readonly critical: boolean;
  readonly steps: BrowserStep[];
  readonly trace: { services: string[] };
  /** How long a step may take before it fails (default 10 s). */
  readonly stepTimeout: Millis;
}

const selector = () => z.string().min(1, { error: withFix('an empty selector', "write a CSS selector such as '#ingest'") });

const schema = strictObject({
  /** The journey's name: letters, digits, dots, dashes, underscores. */
  name: name(),
  /** The environment target whose web page is opened. @default 'api' */
  target: z.string().min(1).optional(),
  /** A critical journey's failure fails the run. @default false */
  critical: z.boolean().optional(),
  /** How long a step may take before it fails: '10s' or milliseconds. @default '10s' */
  stepTimeout: duration().optional(),
  /** The steps, in order, each with exactly one action (goto, click or fill); the first opens a page. */
  steps: z
    .array(
      strictObject({
        /** The step's name, shown in results and traces. */
        name: name(),
        /** Open this page path of the target, starting with `/`. */
        goto: z
          .string()
          .startsWith('/', { error: withFix('a page path starts with /', "write goto: '/'") })
          .optional(),
        /** Click the element this CSS selector finds. */
        click: selector().optional(),
        /** Type `value` into the element `selector` finds. */
        fill: strictObject({
          /** A CSS selector such as '#case'. */
          selector: selector(),
          /** The text typed. */
          value: z.string(),
        }).optional(),
        /** What the page shows when the step has worked. */
        expect: strictObject({
          /** `[selector, text]`: the element's text contains `text`. */
          text: z.tuple([selector(), z.string()], { error: withFix('expected [selector, text]', "write text: ['#status', '→ 201']") }).optional(),
          /** A CSS selector whose element must be visible. */
          visible: selector().optional(),
          /** Slowest passing step: '2s' or milliseconds. @default no limit */
          maxMs: duration().optional(),
        }).optional(),
        /** Span names a complete backend trace of the requests this step makes contains. @default [] */
        spans: z.array(z.string()).optional(),
      }),
    )
    .min(1, { error: withFix('a browser journey needs at least one step', "add steps: [{ name: 'open', goto: '/' }]") }),
  /** What the journey's traces must contain, for trace coverage. */
  trace: strictObject({
    /** Services the page's requests pass through. @default [] */
    services: z.array(z.string()).optional(),
  }).optional(),
});

/** A browser journey as written: what defineBrowserJourney takes. */
export type BrowserJourneyInput = z.input<typeof schema>;

export function defineBrowserJourney(input: BrowserJourneyInput, file?: string): BrowserJourney {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new DefinitionError(
      file,
      issuesFromZod(parsed.error, () => 'see synthetics/browser-ingest-resolve-report.ts for a complete example'),
    );
  const d = parsed.data;
  const issues: Array<{ path: string; problem: string; fix: string }> = [];
  const steps = d.steps.map((s, i): BrowserStep => {
    const actions = (['goto', 'click', 'fill'] as const).filter((k) => s[k] !== undefined);
    if (actions.length !== 1)
      issues.push({
        path: `steps[${i}]`,
        problem: actions.length ? `has ${actions.join(' and ')}: one action per step` : 'has no action',
        fix: "give each step exactly one of goto: '/path', click: '#selector' or fill: { selector, value }",
      });
    const action: BrowserAction =
      s.goto !== undefined ? { goto: s.goto } : s.click !== undefined ? { click: s.click } : { fill: s.fill ?? { selector: '', value: '' } };
    return {
      name: s.name,
      action,
      expect: {
        ...(s.expect?.text ? { text: { selector: s.expect.text[0], contains: s.expect.text[1] } } : {}),
        ...(s.expect?.visible ? { visible: s.expect.visible } : {}),
        ...(s.expect?.maxMs ? { maxMs: s.expect.maxMs } : {}),
      },
      spans: s.spans ?? [],
    };
  });
  if (steps[0] && !('goto' in steps[0].action))
    issues.push({ path: 'steps[0]', problem: 'the first step does not open a page', fix: "start with { name: 'open', goto: '/' }" });
  if (issues.length) throw new DefinitionError(file, issues);
  return {
    kind: 'journey',
    runner: 'browser',
    name: d.name,
    target: d.target ?? 'api',
    critical: d.critical ?? false,
    steps,
    trace: { services: d.trace?.services ?? [] },
    stepTimeout: d.stepTimeout ?? 10_000,
  };
}

export function isBrowserJourney(v: unknown): v is BrowserJourney {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'journey' && (v as { runner?: unknown }).runner === 'browser';
}
