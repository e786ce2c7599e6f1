// `drill bake <file>`: a bake against an environment (live telemetry), or on the virtual clock
// against simulated telemetry (`--clock virtual`, for rehearsals and tests). `--resume` continues
// after a crash. The bake itself is session/bake-session.ts; this prints its progress and result.
import { findProjectRoot } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { runBakeSession } from '../session/bake-session.ts';
import type { bakeSpec } from './commands.ts';
import { createProgress, type CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function bakeCommand({ positionals, flags }: Parsed<typeof bakeSpec>, io: CliIo): Promise<number> {
  const progress = createProgress(io);
  const s = await runBakeSession({
    file: positionals['bake-file'],
    projectRoot: findProjectRoot(),
    environment: flags.env,
    release: flags.release,
    clock: flags.clock,
    resume: flags.resume,
    duration: flags.duration,
    checkpoint: flags.checkpoint,
    reseal: flags.reseal,
    note: (l) => progress.note(l),
    progress: (l) => progress.update(l),
    onCheckpoint: (c, total) =>
      progress.note(
        `checkpoint ${c.index + 1}/${total}${c.gap ? ' GAP (harness was down)' : `: ${c.requests} requests, ${c.errors} errors, p95 ${c.p95Ms?.toFixed(0) ?? '—'} ms${c.sev1.length ? `, Sev-1: ${c.sev1.join(', ')}` : ''}`}`,
      ),
  });
  progress.done();
  const r = s.result;
  const exitCode = r.verdict.verdict === 'pass' ? ExitCode.pass : ExitCode.fail;
  if (flags.json) {
    const { bakeOutput } = await import('./output/bake.ts');
    io.out(JSON.stringify(bakeOutput(s, { environment: flags.env, release: flags.release, clock: flags.clock }, exitCode), null, 2));
    return exitCode;
  }
  io.out(
    `${s.plan.name} — ${r.verdict.verdict.toUpperCase()}${r.resumedFrom !== null ? ` (resumed at checkpoint ${r.resumedFrom + 1})` : ''} · ${r.checkpoints.length} checkpoints · ${r.path}`,
  );
  for (const c of r.verdict.checks) io.out(`  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
  io.out(`evidence: ${s.packDir} (${s.sealed}) · report ${s.report}`);
  return exitCode;
}
