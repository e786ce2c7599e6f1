// `drill build`: 0 when everything was written (and pushed, with --push), 2 on definition, runbook
// or dashboard problems (each with file, field and fix); nothing is written when there is a problem.
import path from 'node:path';
import { grafanaToken, pushDashboards } from '../build/grafana-push.ts';
import { runBuild } from '../build/run.ts';
import { ExitCode } from '../engine/types.ts';
import type { buildSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function buildCommand({ flags }: Parsed<typeof buildSpec>, io: CliIo): Promise<number> {
  const cwd = process.cwd();
  // The token is checked first: a push that cannot happen should not wait for a build.
  const token = flags.push ? grafanaToken() : undefined;
  const report = await runBuild({
    projectRoot: path.resolve(cwd, flags.root ?? '.'),
    outDir: flags.out,
    ...(flags['runbook-base-url'] ? { runbookBaseUrl: flags['runbook-base-url'] } : {}),
  });
  if (!report.ok) {
    for (const p of report.problems) io.err(`${p.file}: ${p.path}: ${p.problem}\n  fix: ${p.fix}`);
    io.err(`drill build: ${report.problems.length} problem(s); nothing written`);
    return ExitCode.usage;
  }
  io.out(`drill build: ${report.slos.length} SLO(s), ${report.alerts.length} alert(s) → ${path.relative(cwd, report.outDir) || '.'}`);
  for (const f of report.files) io.out(`  ${f}`);
  if (flags.push && token) {
    const pushed = await pushDashboards(
      flags.push,
      token,
      report.outDir,
      report.files.filter((f) => f.startsWith('dashboards/')),
    );
    for (const p of pushed) io.out(`pushed ${p.file} → ${p.url} (version ${p.version})`);
  }
  return ExitCode.pass;
}
