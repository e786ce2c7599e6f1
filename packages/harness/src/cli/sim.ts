// `drill sim up|down|status`: the simulated Kubernetes cluster of docs/kubernetes.md, in the
// background — the local stage started with the project's alert rules (and the `local`
// environment's stage options, so `--env sim` and `--env local` drill the same stage), the
// simulated API server in front of it, and the kubeconfig the config's `sim` environment names.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { anchoredToProject } from '../session/run/prepare.ts';
import { simDown, simStatus, simUp } from '@drillbook/stage';
import { DefinitionError } from '../define/errors.ts';
import { ExitCode } from '../engine/types.ts';
import { findProjectRoot, loadConfig } from '../project/loader.ts';
import { buildLocalRules } from '../session/local-rules.ts';
import type { simSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

/** Where the project's simulation keeps its state and kubeconfig: `.drillbook/sim/` (the `sim` environment's kubeconfig). */
export const simStateDir = (projectRoot: string) => join(projectRoot, '.drillbook', 'sim');

async function up(root: string, flags: Parsed<typeof simSpec>['flags'], io: CliIo): Promise<number> {
  const rules = await buildLocalRules(root, (l) => io.err(l));
  if (!rules.ok) throw new DefinitionError(undefined, [{ path: 'alerts/', problem: rules.message, fix: "run 'drill build' and fix what it reports" }]);
  const { config } = await loadConfig(root);
  const local = Object.values(config.environments).find((e) => e.kind === 'local');
  const stage = local?.kind === 'local' ? local.stage : undefined;
  // The simulated cluster's Alertmanager delivers to the `sim` environment's fixed webhook, as a
  // team's Alertmanager would: the token is made here, into the file that environment names.
  const simEnv = config.environments.sim ? anchoredToProject(config.environments.sim, root) : undefined;
  const webhook = simEnv?.kind === 'kubernetes' ? simEnv.alertWebhook : undefined;
  if (webhook && !existsSync(webhook.tokenFile)) {
    mkdirSync(dirname(webhook.tokenFile), { recursive: true, mode: 0o700 });
    writeFileSync(webhook.tokenFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  io.err('starting the local stage and the simulated API server…');
  const state = await simUp({
    stateDir: simStateDir(root),
    rulesDir: rules.rulesDir,
    ...(stage?.replicas !== undefined ? { replicas: stage.replicas } : {}),
    ...(stage?.restartDelay !== undefined ? { restartDelay: stage.restartDelay } : {}),
    ...(stage?.scrapeInterval !== undefined ? { scrapeInterval: stage.scrapeInterval } : {}),
    ...(stage?.archiveTimeout !== undefined ? { archiveTimeout: stage.archiveTimeout } : {}),
    ...(flags['no-chaos-mesh'] ? { crds: { chaosMesh: false } } : {}),
    ...(webhook ? { alertWebhookUrl: `http://127.0.0.1:${webhook.port}/alertmanager`, alertWebhookToken: readFileSync(webhook.tokenFile, 'utf8').trim() } : {}),
  });
  if (flags.json) io.out(JSON.stringify(state, null, 2));
  else
    io.out(
      [
        `${state.alreadyRunning ? 'a simulated cluster is already running' : 'simulated cluster ready'}: API server ${state.url}`,
        `  kubeconfig  ${state.kubeconfigPath} (context sim, namespace intelgraph)`,
        `  then        npx drill doctor --env sim · npx drill run drills/nightly.ts --env sim · npx drill sim down`,
      ].join('\n'),
    );
  return ExitCode.pass;
}

export async function simCommand({ positionals, flags }: Parsed<typeof simSpec>, io: CliIo): Promise<number> {
  const root = findProjectRoot();
  switch (positionals.action) {
    case 'up':
      return up(root, flags, io);
    case 'down': {
      const r = await simDown(simStateDir(root));
      io.out(r.stopped ? 'simulated cluster stopped' : 'no simulated cluster was running (anything a crashed one left is cleaned up)');
      return ExitCode.pass;
    }
    case 'status': {
      const s = simStatus(simStateDir(root));
      if (flags.json) io.out(JSON.stringify(s, null, 2));
      else
        io.out(
          s.running
            ? `running since ${s.state!.startedAt}: API server ${s.state!.url}, kubeconfig ${s.state!.kubeconfigPath}`
            : 'no simulated cluster is running',
        );
      return s.running ? ExitCode.pass : ExitCode.aborted;
    }
  }
}
