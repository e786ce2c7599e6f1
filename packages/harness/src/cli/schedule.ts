// `drill schedule`: run drills on cron in this process, or emit the same schedule for
// Kubernetes (CronJob) or CI (GitHub Actions).
import { parseArgs } from 'node:util';
import { findProjectRoot } from '../define/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { cronJobYaml, DrillScheduler, githubWorkflowYaml } from '../session/scheduler.ts';
import { runDrill } from '../session/run-drill.ts';
import type { CliIo } from './io.ts';

export async function scheduleCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { cron: { type: 'string', default: '0 2 * * *' }, env: { type: 'string', default: 'local' }, emit: { type: 'string' }, image: { type: 'string', default: 'ghcr.io/your-org/drillbook:latest' }, namespace: { type: 'string', default: 'drills' } } });
  } catch (err) {
    io.err(`drill schedule: ${(err as Error).message}`);
    return ExitCode.usage;
  }
  const drills = parsed.positionals;
  if (!drills.length) {
    io.err('usage: drill schedule <drill-file…> [--cron "0 2 * * *"] [--env local] [--emit k8s|github]');
    return ExitCode.usage;
  }
  const entries = drills.map((name) => ({ name, cron: parsed.values.cron! }));
  if (parsed.values.emit === 'k8s') {
    io.out(cronJobYaml(entries, { env: parsed.values.env!, image: parsed.values.image!, namespace: parsed.values.namespace! }));
    return ExitCode.pass;
  }
  if (parsed.values.emit === 'github') {
    io.out(githubWorkflowYaml(entries, { env: parsed.values.env! }));
    return ExitCode.pass;
  }
  if (parsed.values.emit) {
    io.err(`drill schedule: --emit takes k8s or github, not '${parsed.values.emit}'`);
    return ExitCode.usage;
  }
  const root = findProjectRoot();
  const scheduler = new DrillScheduler(
    (file) => runDrill({ file, environment: parsed.values.env!, release: 'nightly', projectRoot: root, note: (l) => io.err(`[${file}] ${l}`) }),
    (e) => io.err(`${new Date(e.at).toISOString()} ${e.drill}: ${e.kind}${e.kind === 'finished' ? ` (exit ${e.exitCode})` : e.kind === 'missed' ? ` — ${e.reason}` : e.kind === 'failed' ? ` — ${e.error}` : ''}`),
  );
  for (const e of entries) scheduler.add(e);
  for (const n of scheduler.nextRuns()) io.err(`${n.drill}: next run ${n.next?.toISOString() ?? 'never'}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.err('stopping the schedule; waiting for runs in progress…');
  await scheduler.stop();
  return ExitCode.pass;
}
