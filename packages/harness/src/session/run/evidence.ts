// Step 5 of a run: the record, its traces, JUnit, the load summary and the report, written and
// signed under the pack's lock (another process may be writing the same release).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, type Verdict } from '../../engine/types.ts';
import { writeFileAtomic } from '../../evidence/atomic-write.ts';
import { canonicalJson } from '../../evidence/canonical.ts';
import { junitXml } from '../../evidence/junit.ts';
import { packDir as packDirOf } from '../../evidence/layout.ts';
import { writeReport } from '../../evidence/report.ts';
import { RUN_RECORD_SCHEMA, writeRunRecord, type RunRecord } from '../../evidence/run-record.ts';
import { resolveSigningKey, type SigningKey } from '../../evidence/keys.ts';
import { sealPack, withPackLock } from '../../evidence/seal.ts';
import { writeTraceFiles } from '../../evidence/traces.ts';
import { redact } from '../../evidence/redact.ts';
import type { RunMeasurement } from '../../measure/run.ts';
import { annotationsOf } from '../../observe/self-trace.ts';
import type { ExecutedRun } from './execute.ts';
import type { PreparedRun } from './prepare.ts';

const TOOL = { name: 'drillbook', version: '0.1.0' };

export function exitCodeFor(verdict: Verdict): ExitCode {
  return verdict === 'pass' ? ExitCode.pass : verdict === 'fail' ? ExitCode.fail : verdict === 'aborted' ? ExitCode.aborted : ExitCode.environment;
}

/**
 * Signs the pack with the key `resolveSigningKey` picks (evidence/keys.ts): `--signing-key` or
 * DRILLBOOK_SIGNING_KEY_FILE, else the project's key in .drillbook/keys, made on first use so a
 * local run is always signed. Statements of keys rotated out (the keyring beside the key) are accepted.
 */
export function sealWithProjectKey(
  projectRoot: string,
  packDir: string,
  note: (l: string) => void,
  options: { reseal?: boolean; written?: readonly string[]; adopt?: readonly string[]; signing?: SigningKey } = {},
): string {
  const { signing = resolveSigningKey(projectRoot, note), ...seal } = options;
  const { keyid } = sealPack(packDir, signing.key, { ...seal, trusted: signing.trusted, note });
  return `signed, keyid ${keyid.slice(0, 16)}…`;
}

export interface WrittenEvidence {
  runFile: string;
  packDir: string;
  reportPath: string;
  sealed: string;
}

export function writeRunEvidence(
  prepared: PreparedRun,
  run: ExecutedRun,
  m: RunMeasurement,
  opts: { projectRoot: string; release: string; reseal?: boolean; note: (line: string) => void },
): WrittenEvidence {
  const { plan } = prepared;
  const exitCode = exitCodeFor(m.verdict);
  const coverage = m.coverage;
  return withPackLock(packDirOf(prepared.evidenceDir, opts.release), () => {
    // The key first: a key that cannot be read must not leave an unsigned record behind for the next seal to refuse.
    const signing = resolveSigningKey(opts.projectRoot, opts.note);
    writeTraceFiles(prepared.evidenceDir, opts.release, run.runId, {
      traceId: run.traceId,
      spans: run.spans,
      annotations: annotationsOf(run.events, plan.name, run.runId),
    });
    const record: RunRecord = {
      schema: RUN_RECORD_SCHEMA,
      runId: run.runId,
      drill: plan.name,
      environment: prepared.environmentName,
      startedAt: run.outcome.startedAt,
      endedAt: run.outcome.endedAt,
      plan,
      events: run.events,
      measures: m.measures,
      checks: m.checks,
      verdict: m.verdict,
      exitCode,
      ...(run.outcome.reason ? { reason: run.outcome.reason } : {}),
      slos: prepared.slos,
      facts: {
        ...run.facts,
        ...(coverage ? { coverage: { perPath: coverage.perPath, incomplete: coverage.incomplete.slice(0, 50), errors: coverage.errors.slice(0, 50) } } : {}),
        traceId: run.traceId ?? null,
        spansReceived: run.spans.length,
        burnPeaks: Object.fromEntries(m.burns.map((b) => [b.sloId, { source: b.report.source, peaks: b.report.peaks }])),
        ...(m.restore ? { restoreBreakdown: m.restore.breakdown } : {}),
      },
      ...(run.heartbeat ? { heartbeat: run.heartbeat } : {}),
      ...(run.journeyRequests.length ? { coverageRequests: run.journeyRequests } : {}),
      ...(run.prometheusSlis.length ? { prometheusSlis: run.prometheusSlis } : {}),
      ...(run.loadThresholds.length ? { loadThresholds: run.loadThresholds } : {}),
      tool: TOOL,
    };
    const written = writeRunRecord(prepared.evidenceDir, opts.release, record);
    writeFileAtomic(join(written.packDir, 'junit', `${run.runId}.xml`), junitXml(JSON.parse(readFileSync(written.path, 'utf8')) as RunRecord));
    if (run.loadSummary) writeFileAtomic(join(written.packDir, 'load', `${run.runId}.summary.json`), canonicalJson(redact(run.loadSummary)));
    const reportPath = writeReport(written.packDir);
    const sealed = sealWithProjectKey(opts.projectRoot, written.packDir, opts.note, { ...(opts.reseal ? { reseal: true } : {}), signing });
    return { runFile: written.path, packDir: written.packDir, reportPath, sealed };
  });
}
