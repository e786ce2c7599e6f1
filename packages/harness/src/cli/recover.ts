// `drill recover`: carry out every revert a crashed run left in the rollback journal.
import { findProjectRoot } from '../project/loader.ts';
import { RollbackJournal } from '../engine/journal.ts';
import { ExitCode } from '../engine/types.ts';
import { journalPath, providerRegistry } from '../session/run-drill.ts';
import type { recoverSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function recoverCommand({ flags: values }: Parsed<typeof recoverSpec>, io: CliIo): Promise<number> {
  const journal = new RollbackJournal(values.journal ?? journalPath(findProjectRoot()));
  if (values.forget) {
    const ok = journal.forget(values.forget);
    io.out(ok ? `forgot ${values.forget}: marked as reverted by hand` : `nothing pending with id ${values.forget}`);
    return ok ? ExitCode.pass : ExitCode.usage;
  }
  const pending = journal.pending();
  if (pending.length === 0) {
    io.out('nothing to recover: the rollback journal has no pending revert');
    return ExitCode.pass;
  }
  const registry = providerRegistry();
  const report = await journal.recoverPending(
    (n) => registry.get(n),
    (level, m) => io.err(`${level}: ${m}`),
    { includeLive: values.all },
  );
  io.out(`reverted ${report.reverted.length}, failed ${report.failed.length}, left to running harnesses ${report.skippedLiveOwner.length}`);
  for (const f of report.failed) io.out(`✗ ${f.record.faultId}: ${f.record.description}: ${f.error}`);
  for (const s of report.skippedLiveOwner) io.out(`… ${s.faultId} belongs to a harness still running (use --all to revert it anyway)`);
  return report.failed.length ? ExitCode.environment : ExitCode.pass;
}
