// The I/O of `drill run --json` and `--dry-run --json` / `-o yaml|json`: read what the run wrote
// (its record, its spans, the pack's files) or prepare the dry run, then hand the data to the pure
// builders in output/run.ts and session/run/dry-run.ts.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { sloTargetsOfRecord } from '../../measure/burn.ts';
import { measureRun } from '../../measure/run.ts';
import type { RunRecord } from '../../evidence/run-record.ts';
import { MANIFEST, RESEALS, STATEMENT } from '../../evidence/layout.ts';
import { exitCodeOf, UsageError } from '../../errors.ts';
import type { StoredSpan } from '../../observe/trace-store.ts';
import type { RunDrillResult } from '../../session/run-drill.ts';
import { prepareRun, type PrepareOptions } from '../../session/run/prepare.ts';
import { chaosObjectsOf, dryRunFacts } from '../../session/run/dry-run.ts';
import { renderObjects, type ObjectFormat } from './objects.ts';
import { runErrorOutput, runResultOutput, type FilesOut, type RunOutput } from './run.ts';

const packPath = (packDir: string, file: string) => relative(packDir, file).split(sep).join('/');

/**
 * The pack files one run writes (session/run/evidence.ts): its record, traces, JUnit and load
 * summary, and the pack's report, manifest and statement it rewrites (and reseals.jsonl when it
 * resealed). Those present are listed.
 */
export function runFiles(packDir: string, runFile: string, runId: string, resealed = false): FilesOut {
  const candidates = [
    packPath(packDir, runFile),
    `traces/${runId}.spans.json`,
    `traces/${runId}.annotations.json`,
    `junit/${runId}.xml`,
    `load/${runId}.summary.json`,
    'report.html',
    MANIFEST,
    STATEMENT,
    ...(resealed ? [RESEALS] : []),
  ];
  return {
    pack: packDir,
    record: runFile,
    report: join(packDir, 'report.html'),
    written: candidates.filter((p) => existsSync(join(packDir, p))),
  };
}

function spansOf(packDir: string, runId: string): StoredSpan[] | undefined {
  const file = join(packDir, 'traces', `${runId}.spans.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { spans: StoredSpan[] }).spans : undefined;
}

/** A finished run's document from its record, measured again as `drill verify` measures it; a run without a record is an error document. */
export function runDocument(result: RunDrillResult, resealed: boolean): RunOutput {
  if (!result.runFile || !result.packDir || !result.runId) return runErrorOutput(result.exitCode, result.summary, false);
  const record = JSON.parse(readFileSync(result.runFile, 'utf8')) as RunRecord;
  const spans = record.coverageRequests ? spansOf(result.packDir, record.runId) : undefined;
  const status = record.verdict === 'aborted' ? 'aborted' : record.verdict === 'error' ? 'error' : 'completed';
  const measurement = measureRun({
    plan: record.plan,
    events: record.events,
    outcome: { status, startedAt: record.startedAt, endedAt: record.endedAt },
    slos: sloTargetsOfRecord(record),
    ...(record.heartbeat ? { heartbeat: record.heartbeat } : {}),
    ...(record.coverageRequests && spans ? { coverage: { requests: record.coverageRequests, spans } } : {}),
    prometheusSlis: record.prometheusSlis ?? [],
    loadThresholds: record.loadThresholds ?? [],
    formulas: record.measures,
  });
  return runResultOutput({
    record,
    measurement,
    release: basename(result.packDir).replace(/^release-/, ''),
    files: runFiles(result.packDir, result.runFile, result.runId, resealed),
  });
}

/**
 * A dry run as data (`--json`) or its Chaos Mesh objects alone (`-o`). The checks are the run's
 * own (prepareRun); a Drillbook error becomes an error document, or with `-o` the message on stderr.
 */
export async function dryRunDocument(opts: PrepareOptions, output: ObjectFormat | undefined): Promise<{ exitCode: number; stdout: string; stderr?: string }> {
  try {
    const prepared = await prepareRun(opts);
    if (output) {
      if (prepared.envConfig.kind !== 'kubernetes')
        throw new UsageError(
          `-o ${output} prints the Kubernetes objects of a dry run; environment '${prepared.environmentName}' is kind '${prepared.envConfig.kind}' (use --json for its plan)`,
        );
      return {
        exitCode: 0,
        stdout: renderObjects(
          (await chaosObjectsOf(prepared)).map((o) => o.object),
          output,
        ),
      };
    }
    const plan = await dryRunFacts(prepared);
    const doc: RunOutput = { schema: 'drillbook.cli.run/v1', command: 'run', exitCode: 0, kind: 'plan', dryRun: true, verdict: null, ...plan };
    return { exitCode: 0, stdout: JSON.stringify(doc, null, 2) };
  } catch (err) {
    const code = exitCodeOf(err);
    if (code === undefined || (output && err instanceof UsageError)) throw err;
    const message = (err as Error).message;
    return output ? { exitCode: code, stdout: '', stderr: message } : { exitCode: code, stdout: JSON.stringify(runErrorOutput(code, message, true), null, 2) };
  }
}
