// `drill schedule`: run drills on cron in this process, or emit the same schedule for
// Kubernetes (CronJobs with their RBAC and evidence claim, schedule/k8s.ts) or CI (GitHub
// Actions, schedule/github.ts). docs/pipelines.md.
import { relative, resolve } from 'node:path';
import { resolveEnvironment } from '../define/config.ts';
import type { DrillbookConfig } from '../define/types.ts';
import { ExitCode } from '../engine/types.ts';
import { UsageError } from '../errors.ts';
import { configuredEnvironment, findProjectRoot, loadConfig, loadDefinitions, pickDrill } from '../project/loader.ts';
import { freshDefinitions } from '../project/ts-import.ts';
import { writeDockerfile } from '../schedule/dockerfile.ts';
import { githubWorkflowYaml, stagePackages } from '../schedule/github.ts';
import { k8sObjects, k8sYaml, type ScheduledDrillFile } from '../schedule/k8s.ts';
import { DrillScheduler } from '../session/scheduler.ts';
import { runDrill } from '../session/run-drill.ts';
import type { scheduleSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function scheduleCommand({ positionals, flags }: Parsed<typeof scheduleSpec>, io: CliIo): Promise<number> {
  const entries = positionals['drill-file'].map((name) => ({ name, cron: flags.cron }));
  if (flags.emit) return emit({ positionals, flags }, io);
  const root = findProjectRoot();
  const scheduler = new DrillScheduler(
    (file) => {
      freshDefinitions(); // each run reads the definitions as they are now, not as the first run found them
      return runDrill({ file, environment: flags.env, release: 'nightly', projectRoot: root, note: (l) => io.err(`[${file}] ${l}`) });
    },
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

/** Each drill file loaded (relative to the project root, as the image and the checkout hold it), allowed in the environment. */
async function scheduledDrills(files: string[], cron: string, envName: string, root: string, config: DrillbookConfig, configFile: string | undefined) {
  const out: ScheduledDrillFile[] = [];
  for (const file of files) {
    const drill = pickDrill(await loadDefinitions(file));
    resolveEnvironment(drill.plan, envName, config, configFile ?? 'drillbook.config.ts');
    out.push({ file: relative(root, resolve(file)).split('\\').join('/'), cron, plan: drill.plan, uses: drill.uses });
  }
  return out;
}

async function emit({ positionals, flags }: Parsed<typeof scheduleSpec>, io: CliIo): Promise<number> {
  const root = findProjectRoot();
  const { config, file: configFile } = await loadConfig(root);
  const env = configuredEnvironment({ config, file: configFile }, flags.env);
  const drills = await scheduledDrills(positionals['drill-file'], flags.cron, flags.env, root, config, configFile);
  if (flags.emit === 'github') {
    io.out(
      githubWorkflowYaml(drills, {
        envName: flags.env,
        envKind: env.kind,
        evidenceDir: config.evidenceDir,
        packages: env.kind === 'local' ? stagePackages() : [],
      }),
    );
    return ExitCode.pass;
  }
  if (env.kind !== 'kubernetes')
    throw new UsageError(
      `--emit k8s needs --env naming a kind: 'kubernetes' environment; '${flags.env}' is kind '${env.kind}' (give --env one of: ${
        Object.entries(config.environments)
          .filter(([, e]) => e.kind === 'kubernetes')
          .map(([n]) => n)
          .join(', ') || "none — add a kind: 'kubernetes' environment to drillbook.config.ts"
      })`,
    );
  if (!flags.image)
    throw new UsageError(
      '--emit k8s needs --image: the runner image the CronJobs run (build it from the Dockerfile --dockerfile writes, push it, name it here)',
    );
  const objects = k8sObjects(drills, {
    envName: flags.env,
    env,
    evidenceDir: config.evidenceDir,
    image: flags.image,
    namespace: flags.namespace,
    signingKeySecret: flags['signing-key-secret'],
    ...(flags.pvc ? { pvc: flags.pvc } : {}),
  });
  if (flags.dockerfile) {
    writeDockerfile(resolve(flags.dockerfile));
    io.err(`wrote ${flags.dockerfile}: build it where a registry is reachable (docs/pipelines.md)`);
  }
  io.out(k8sYaml(objects, { namespace: flags.namespace, signingKeySecret: flags['signing-key-secret'], env }));
  return ExitCode.pass;
}
