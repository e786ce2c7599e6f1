// `drill init`: write a first project (config, game-day, SLO + runbook, journey, load profile)
// into the current directory. Never overwrites: an existing file is skipped and named.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ExitCode } from '../engine/types.ts';
import { checkInitOptions, initFiles, mergeGitignore, nextCommands, type InitOptions } from '../project/init.ts';
import type { initSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function initCommand({ flags }: Parsed<typeof initSpec>, io: CliIo): Promise<number> {
  const options: InitOptions = {
    env: flags.env as InitOptions['env'],
    url: flags.url,
    pidFile: flags['pid-file'],
    context: flags.context,
    namespace: flags.namespace,
    selector: flags.selector,
    service: flags.service,
    path: flags.path,
  };
  checkInitOptions(options);
  const root = flags.dir ?? process.cwd();
  const skipped: string[] = [];
  for (const f of initFiles(options)) {
    const file = join(root, f.path);
    if (existsSync(file)) {
      skipped.push(f.path);
      io.out(`skipped  ${f.path}  (exists; not overwritten)`);
      continue;
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, f.text, { flag: 'wx' });
    io.out(`wrote    ${f.path}`);
  }
  const gitignore = join(root, '.gitignore');
  const merged = mergeGitignore(existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : undefined);
  if (merged) {
    writeFileSync(gitignore, merged.text);
    io.out(`updated  .gitignore  (+ ${merged.added.join(' ')})`);
  } else io.out('skipped  .gitignore  (already ignores .drillbook/ out/ evidence-pack/)');
  if (skipped.length) io.out(`${skipped.length} file(s) already existed and were left as they are.`);
  io.out('\nnext:');
  for (const c of nextCommands(options)) io.out(`  ${c}`);
  return ExitCode.pass;
}
