// One drill run from start to end, as named steps:
//   prepareRun (every check; shared with the dry run) → executeRun (environment, preflight,
//   timeline, raw inputs) → measureRun (pure; `drill verify` derives the same way) → writeRunEvidence.
// The CLI's `drill run` and the scheduler both call runDrill.
import { relative } from 'node:path';
import { ExitCode, type Verdict } from '../engine/types.ts';
import { exitCodeOf } from '../errors.ts';
import { measureRun } from '../measure/run.ts';
import { renderSummary } from '../measure/summary.ts';
import { describeDryRun } from './run/dry-run.ts';
import { executeRun } from './run/execute.ts';
import { exitCodeFor, writeRunEvidence } from './run/evidence.ts';
import { prepareRun } from './run/prepare.ts';

export { journalPath } from './run/execute.ts';
export { sealWithProjectKey } from './run/evidence.ts';
export { providerRegistry } from './run/prepare.ts';

export interface RunDrillOptions {
  file: string;
  drillName?: string;
  /** Not given: the drill's own environment when it allows exactly one (see prepareRun). */
  environment?: string | undefined;
  /** Not given: the environment's name, so runs of different environments never mix in one pack. */
  release?: string | undefined;
  dryRun?: boolean;
  /** Sign the release even though its pack no longer verifies (recorded in the pack). */
  reseal?: boolean;
  projectRoot: string;
  /** Lines for people (progress, notes) — stderr in the CLI. */
  note: (line: string) => void;
  progress?: (line: string) => void;
}

export interface RunDrillResult {
  exitCode: number;
  verdict?: Verdict;
  summary: string;
  runFile?: string;
  packDir?: string;
  runId?: string;
}

/** The run as its steps; any Drillbook error (definition 2, environment 4, …) becomes the result. */
export async function runDrill(opts: RunDrillOptions): Promise<RunDrillResult> {
  try {
    const prepared = await prepareRun(opts);
    if (opts.dryRun) return { exitCode: ExitCode.pass, summary: await describeDryRun(prepared) };

    const run = await executeRun(prepared, opts);
    const m = measureRun({
      plan: prepared.plan,
      events: run.events,
      outcome: run.outcome,
      slos: prepared.slos,
      ...(run.heartbeat ? { heartbeat: run.heartbeat } : {}),
      ...(run.journeyRequests.length ? { coverage: { requests: run.journeyRequests, spans: run.spans } } : {}),
      prometheusSlis: run.prometheusSlis,
      loadThresholds: run.loadThresholds,
    });
    const exitCode = exitCodeFor(m.verdict);
    const written = writeRunEvidence(prepared, run, m, {
      projectRoot: opts.projectRoot,
      release: opts.release ?? prepared.environmentName,
      ...(opts.reseal ? { reseal: true } : {}),
      note: opts.note,
    });
    const coverageMin = prepared.plan.checks?.traceCoverage?.min;
    const summary = renderSummary({
      drill: prepared.plan.name,
      environment: prepared.environmentName,
      verdict: m.verdict,
      exitCode,
      runFile: relative(opts.projectRoot, written.runFile) || written.runFile,
      reportFile: relative(opts.projectRoot, written.reportPath),
      episodes: m.episodes,
      ...(m.measures.mttr ? { mttr: m.measures.mttr } : {}),
      burns: m.burns,
      checks: m.checks,
      ...(m.restore ? { restore: m.restore } : {}),
      ...(coverageMin !== undefined && m.coverage ? { coverage: { value: m.coverage.value, min: coverageMin } } : {}),
      faultsLeftIn: run.faultsLeftIn,
      ...(run.outcome.reason ? { reason: run.outcome.reason } : {}),
    });
    return {
      exitCode,
      verdict: m.verdict,
      summary: `${summary}\nevidence: ${relative(opts.projectRoot, written.packDir)} (${written.sealed})`,
      runFile: written.runFile,
      packDir: written.packDir,
      runId: run.runId,
    };
  } catch (err) {
    const code = exitCodeOf(err);
    if (code === undefined) throw err;
    return { exitCode: code, summary: (err as Error).message };
  }
}
