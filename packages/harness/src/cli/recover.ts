// `drill recover`: carry out every revert a crashed run left in the rollback journal.
import { configuredEnvironment, findProjectRoot, loadConfig } from '../project/loader.ts';
import { UsageError } from '../errors.ts';
import { splitFaultId } from '../faults/chaos-mesh/provider.ts';
import { anchoredToProject } from '../session/run/prepare.ts';
import { RollbackJournal } from '../engine/journal.ts';
import { ExitCode } from '../engine/types.ts';
import { journalPath, providerRegistry } from '../session/run-drill.ts';
import type { recoverSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

/** Containers, networks and volumes of containers-environment runs whose harness is gone (every run's with --all), found by their labels. */
async function sweepContainers(includeLive: boolean, io: CliIo): Promise<void> {
  const { engineIfAny, sweep } = await import('../faults/containers/docker.ts');
  const docker = await engineIfAny();
  if (!docker) return; // no engine here: nothing of ours can be left in one
  const r = await sweep(docker, { includeLive });
  const n = r.containers.length + r.networks.length + r.volumes.length;
  if (n)
    io.out(
      `removed ${r.containers.length} containers, ${r.networks.length} networks, ${r.volumes.length} volumes left by containers runs: ${[...r.containers, ...r.networks, ...r.volumes].join(', ')}`,
    );
}

/**
 * Chaos objects of a Kubernetes environment's runs, found by their labels: the fallback for a journal
 * that is gone or was kept elsewhere. Runs whose harness is still going keep theirs (unless --all).
 */
async function sweepKubernetes(envName: string, keepRunIds: Set<string>, io: CliIo): Promise<boolean> {
  const root = findProjectRoot();
  const env = anchoredToProject(configuredEnvironment(await loadConfig(root), envName), root);
  if (env.kind !== 'kubernetes') throw new UsageError(`--env sweeps a Kubernetes environment's chaos objects by label; '${envName}' is ${env.kind}`);
  const { sweepChaosObjects } = await import('../faults/chaos-mesh/leftovers.ts');
  const r = await sweepChaosObjects(env, { keepRunIds });
  io.out(`${envName}: deleted ${r.deleted.length} chaos object(s) found by the drillbook label${r.deleted.length ? `: ${r.deleted.join(', ')}` : ''}`);
  for (const k of r.kept) io.out(`… ${k} belongs to a harness still running (use --all to delete it anyway)`);
  for (const f of r.failed) io.out(`✗ ${f.object}: ${f.error}`);
  return r.failed.length === 0;
}

export async function recoverCommand({ flags: values }: Parsed<typeof recoverSpec>, io: CliIo): Promise<number> {
  const journal = new RollbackJournal(values.journal ?? journalPath(findProjectRoot()));
  if (values.forget) {
    const ok = journal.forget(values.forget);
    io.out(ok ? `forgot ${values.forget}: marked as reverted by hand` : `nothing pending with id ${values.forget}`);
    return ok ? ExitCode.pass : ExitCode.usage;
  }
  await sweepContainers(values.all === true, io);
  let ok = true;
  const live = new Set<string>();
  if (journal.pending().length === 0) io.out('nothing to recover: the rollback journal has no pending revert');
  else {
    const registry = providerRegistry();
    const report = await journal.recoverPending(
      (n) => registry.get(n),
      (level, m) => io.err(`${level}: ${m}`),
      { includeLive: values.all },
    );
    io.out(`reverted ${report.reverted.length}, failed ${report.failed.length}, left to running harnesses ${report.skippedLiveOwner.length}`);
    for (const f of report.failed) io.out(`✗ ${f.record.faultId}: ${f.record.description}: ${f.error}`);
    for (const s of report.skippedLiveOwner) {
      io.out(`… ${s.faultId} belongs to a harness still running (use --all to revert it anyway)`);
      live.add(splitFaultId(s.faultId).runId);
    }
    ok = report.failed.length === 0;
  }
  if (values.env) ok = (await sweepKubernetes(values.env, live, io)) && ok;
  return ok ? ExitCode.pass : ExitCode.environment;
}
