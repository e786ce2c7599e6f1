// `drill list` and `drill validate`: read definitions, run nothing.
import { existsSync, globSync } from 'node:fs';
import { join } from 'node:path';
import { DefinitionError, type DefinitionIssue } from '../define/errors.ts';
import { isDefinedDrill } from '../define/drill.ts';
import type { DefinedDrill } from '../define/types.ts';
import { configuredEnvironment, findDrills, findProjectRoot, loadConfig, loadDefinitions } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import type { listSpec, validateSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';
import { maxOf } from '../util/arrays.ts';

export async function listCommand({ flags }: Parsed<typeof listSpec>, io: CliIo): Promise<number> {
  const root = findProjectRoot();
  const { drills, errors } = await findDrills(flags.dir, root);
  if (flags.json) io.out(JSON.stringify({ drills, errors: errors.map((e) => ({ file: e.file, issues: e.issues })) }, null, 2));
  else {
    const w = maxOf([5, ...drills.map((d) => d.name.length)]);
    const f = maxOf([4, ...drills.map((d) => d.file.length)]);
    io.out(`${'drill'.padEnd(w)}  ${'file'.padEnd(f)}  environments  kind   title`);
    for (const d of drills) io.out(`${d.name.padEnd(w)}  ${d.file.padEnd(f)}  ${d.environments.join(',').padEnd(12)}  ${d.kind.padEnd(5)}  ${d.title}`);
    if (drills.some((d) => d.kind === 'bake')) io.out("run a drill with 'drill run <name>', a bake with 'drill bake <file>'");
    for (const e of errors) io.err(e.message);
  }
  return errors.length > 0 ? ExitCode.usage : ExitCode.pass;
}

/** Definition files of a project: drills/, load/, synthetics/, alerts/ and the config. */
function allDefinitionFiles(root: string): string[] {
  // fs.globSync (Node 22+) leaves hidden files and directories out.
  const out = globSync('{drills,load,synthetics,alerts,dashboards}/**/*.ts', { cwd: root })
    .filter((f) => !f.endsWith('.d.ts'))
    .map((f) => join(root, f));
  if (existsSync(join(root, 'drillbook.config.ts'))) out.push(join(root, 'drillbook.config.ts'));
  return out.sort();
}

export async function validateCommand({ positionals, flags: values }: Parsed<typeof validateSpec>, io: CliIo): Promise<number> {
  const root = findProjectRoot();
  const given = positionals.file;
  const files = given.length > 0 ? given : allDefinitionFiles(root);
  const failures: DefinitionError[] = [];
  const drills: Array<{ file: string; drill: DefinedDrill }> = [];
  let count = 0;
  for (const file of files) {
    try {
      const loaded = await loadDefinitions(file, process.cwd());
      count += loaded.definitions.length;
      for (const d of loaded.definitions) if (isDefinedDrill(d.value)) drills.push({ file: loaded.file, drill: d.value });
      if (!values.json) io.out(`ok  ${loaded.file}  (${loaded.definitions.map((d) => `${d.value.kind} ${d.value.name}`).join(', ') || 'no definitions'})`);
    } catch (err) {
      if (!(err instanceof DefinitionError)) throw err;
      failures.push(err);
      if (!values.json) io.err(err.message);
    }
  }
  let loadedConfig: Awaited<ReturnType<typeof loadConfig>> | undefined;
  try {
    loadedConfig = await loadConfig(root);
  } catch (err) {
    if (!(err instanceof DefinitionError)) throw err;
    // Reported when the whole project is checked, or when --env needs the config.
    if ((given.length === 0 || values.env !== undefined) && !failures.some((f) => f.file === err.file)) {
      failures.push(err);
      if (!values.json && given.length > 0) io.err(err.message);
    }
  }
  // --env: each drill allowing that environment, checked as `drill run` would before starting anything.
  // Opt-in: the checks load every fault provider (client-node, testcontainers), which a plain validate need not.
  const envName = values.env;
  if (envName !== undefined && loadedConfig) {
    configuredEnvironment(loadedConfig, envName);
    const { checkInEnvironment } = await import('../session/run/prepare.ts');
    for (const { file, drill } of drills) {
      if (!drill.plan.environments.includes(envName)) continue;
      let issues: DefinitionIssue[];
      try {
        issues = (await checkInEnvironment(drill, envName, loadedConfig, root)).issues;
      } catch (err) {
        if (!(err instanceof DefinitionError)) throw err;
        issues = err.issues;
      }
      if (issues.length === 0) continue;
      const err = new DefinitionError(file, issues);
      failures.push(err);
      if (!values.json) io.err(err.message);
    }
  }
  if (values.json)
    io.out(JSON.stringify({ ok: failures.length === 0, definitions: count, errors: failures.map((e) => ({ file: e.file, issues: e.issues })) }, null, 2));
  else io.out(failures.length ? `${failures.length} file(s) with errors` : `${files.length} file(s), ${count} definition(s): all valid`);
  return failures.length ? ExitCode.usage : ExitCode.pass;
}
