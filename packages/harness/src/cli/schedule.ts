// `drill schedule`: run drills on cron in this process, or emit the same schedule for
// Kubernetes (CronJob) or CI (GitHub Actions).
import { findProjectRoot } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { cronJobYaml, DrillScheduler, githubWorkflowYaml } from '../session/scheduler.ts';
import { runDrill } from '../session/run-drill.ts';
import type { scheduleSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function scheduleCommand({ positionals, flags }: Parsed<typeof scheduleSpec>, io: CliIo): Promise<number> {
  const entries = positionals['drill-file'].map((name) => ({ name, cron: flags.cron }));
  if (flags.emit === 'k8s') {
    io.out(cronJobYaml(entries, { env: flags.env, image: flags.image, namespace: flags.namespace }));
    return ExitCode.pass;
  }
  if (flags.emit === 'github') {
    io.out(githubWorkflowYaml(entries, { env: flags.env }));
    return ExitCode.pass;
  }
  const root = findProjectRoot();
  const scheduler = new DrillScheduler(
    (file) => runDrill({ file, environment: flags.env, release: 'nightly', projectRoot: root, note: (l) => io.err(`[${file}] ${l}`) }),
    (e) =>
      io.err(
        `${new Date(e.at).toISOString()} ${e.drill}: ${e.kind}${e.kind === 'finished' ? ` (exit ${e.exitCode})` : e.kind === 'missed' ? ` — ${e.reason}` : e.kind === 'failed' ? ` — ${e.error}` : ''}`,
      ),
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
