// `drill review --release <tag>`: decide Go/No-Go from the pack, write go-no-go.md and
// go-no-go.json into it, and seal it again.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findProjectRoot, loadConfig } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { writeFileAtomic } from '../evidence/atomic-write.ts';
import { withPackLock } from '../evidence/seal.ts';
import { canonicalJson, sha256 } from '../evidence/canonical.ts';
import { packDir as packDirOf } from '../evidence/layout.ts';
import { listPackFiles, updateManifest } from '../evidence/manifest.ts';
import { goNoGoMemo, review, verificationSummary } from '../evidence/review.ts';
import type { RunRecord } from '../evidence/run-record.ts';
import { sealWithProjectKey } from '../session/run-drill.ts';
import type { reviewSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function reviewCommand({ flags: values }: Parsed<typeof reviewSpec>, io: CliIo): Promise<number> {
  const root = findProjectRoot();
  const evidenceDir = values['evidence-dir'] ?? join(root, (await loadConfig(root)).config.evidenceDir);
  const dir = packDirOf(evidenceDir, values.release);
  let paths: string[];
  try {
    paths = listPackFiles(dir);
  } catch {
    io.err(`drill review: no evidence pack at ${dir}`);
    return ExitCode.usage;
  }
  const files: Record<string, unknown> = {};
  const runs: Array<{ path: string; record: RunRecord }> = [];
  for (const p of paths.filter((f) => /\.(json|sarif)$/.test(f) && !f.startsWith('traces/') && !/^go-no-go/.test(f))) {
    try {
      const doc = JSON.parse(readFileSync(join(dir, p), 'utf8'));
      if (p.startsWith('chaos-dr/')) runs.push({ path: p, record: doc as RunRecord });
      else files[p] = doc;
    } catch {
      io.err(`warn: ${p} is not JSON; ignored`);
    }
  }
  const input = { release: values.release, now: values.now ? Date.parse(values.now) : Date.now(), files, runs };
  const decision = review(input);
  const sealed = withPackLock(dir, () => {
    writeFileAtomic(join(dir, 'go-no-go.md'), goNoGoMemo(input, decision));
    updateManifest(dir);
    writeFileAtomic(join(dir, 'go-no-go.json'), canonicalJson(verificationSummary(input, decision, sha256(readFileSync(join(dir, 'manifest.json'))))));
    return sealWithProjectKey(root, dir, (l) => io.err(l), { ...(values.reseal ? { reseal: true } : {}), adopt: Object.keys(files) });
  });
  if (values.json) {
    const { reviewOutput } = await import('./output/review.ts');
    const written = { pack: dir, memo: join(dir, 'go-no-go.md'), summary: join(dir, 'go-no-go.json') };
    const exitCode = decision.decision === 'GO' ? ExitCode.pass : ExitCode.fail;
    io.out(JSON.stringify(reviewOutput(decision, { release: values.release, runs: runs.length, files: written, sealed }, exitCode), null, 2));
  } else {
    io.out(`${decision.decision} for release ${values.release}`);
    for (const g of decision.gates) io.out(`  ${g.status === 'pass' ? '✓' : g.status === 'fail' ? '✗' : '?'} ${g.name.padEnd(46)} ${g.detail}`);
    io.out(`memo: ${relative(process.cwd(), join(dir, 'go-no-go.md'))} · pack ${sealed}`);
  }
  return decision.decision === 'GO' ? ExitCode.pass : ExitCode.fail;
}
