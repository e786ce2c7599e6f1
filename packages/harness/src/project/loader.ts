// Loading definition files (drills, journeys, load profiles, SLOs, the config) at run
// time. They are TypeScript, imported through tsx; every DefinitionError thrown while
// a file is evaluated is re-thrown naming that file.
import { existsSync, globSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importTypeScript } from './ts-import.ts';
import { DEFAULT_CONFIG } from '../define/config.ts';
import { DefinitionError } from '../define/errors.ts';
import type { Defined, DefinedDrill, DefinedKind, DrillbookConfig, EnvironmentConfig } from '../define/types.ts';
import { definitionIssuesOf, UsageError } from '../errors.ts';
import { isDefinedDrill } from '../define/drill.ts';

export interface LoadedFile {
  file: string;
  /** Every exported definition, by export name (`default` for the default export). */
  definitions: Array<{ exportName: string; value: Defined<DefinedKind> }>;
}

function isDefined(value: unknown): value is Defined<DefinedKind> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

/** Imports a definition file; a bad definition inside it becomes a DefinitionError naming it. */
export async function loadDefinitions(file: string, cwd = process.cwd()): Promise<LoadedFile> {
  const abs = resolve(cwd, file);
  const shown = relative(cwd, abs) || abs;
  if (!existsSync(abs))
    throw new DefinitionError(shown, [{ path: '(file)', problem: 'file not found', fix: `check the path; drills live under drills/ (try 'drill list')` }]);
  let mod: Record<string, unknown>;
  try {
    mod = (await importTypeScript(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
  } catch (err) {
    // Definition files are evaluated in their own module instances (tsx), so match by shape, not class.
    const issues = definitionIssuesOf(err);
    if (issues) throw new DefinitionError(shown, issues);
    const message = (err as Error).message ?? String(err);
    const compile = compileErrorsOf(message, abs);
    if (compile.length > 0)
      throw new DefinitionError(
        shown,
        compile.map((c) => ({ path: `${c.line}:${c.column}`, problem: c.text, fix: compileFix(`${shown}:${c.line}:${c.column}`, cwd) })),
      );
    throw new DefinitionError(shown, [
      { path: '(file)', problem: `could not be loaded: ${message.split('\n')[0]}`, fix: `it threw while loading: fix ${shown} or a file it imports` },
    ]);
  }
  const definitions: LoadedFile['definitions'] = [];
  for (const [exportName, value] of Object.entries(mod)) {
    // tsx may wrap CommonJS-style default exports once more.
    const v = exportName === 'default' && isDefined((value as { default?: unknown })?.default) ? (value as { default: unknown }).default : value;
    if (isDefined(v) && !definitions.some((d) => d.value === v)) definitions.push({ exportName, value: v });
  }
  return { file: shown, definitions };
}

export interface CompileError {
  line: number;
  column: number;
  text: string;
}

/**
 * The compiler's own errors for `abs`, from the message tsx/esbuild throws
 * ("Transform failed with 1 error:\n/path/file.ts:2:16: ERROR: Expected …"). esbuild counts
 * columns from 0; editors and tsc from 1, so the column is shifted. Pure.
 */
export function compileErrorsOf(message: string, abs: string): CompileError[] {
  const out: CompileError[] = [];
  for (const line of message.split('\n')) {
    const m = /^(.*):(\d+):(\d+): ERROR: (.*)$/.exec(line.trim());
    if (m && resolve(m[1]!) === abs) out.push({ line: Number(m[2]), column: Number(m[3]) + 1, text: m[4]! });
  }
  return out;
}

// A team's project has no `npm run typecheck`; name tsc only where a tsconfig makes it meaningful.
function compileFix(at: string, cwd: string): string {
  const tsc = existsSync(join(findProjectRoot(cwd), 'tsconfig.json')) ? '; `npx tsc --noEmit` lists type errors too' : '';
  return `correct the code at ${at}${tsc}`;
}

/** The drill a file defines: the one named, else its default export, else its only drill. */
export function pickDrill(loaded: LoadedFile, name?: string): DefinedDrill {
  const drills = loaded.definitions.filter((d) => isDefinedDrill(d.value)) as Array<{ exportName: string; value: DefinedDrill }>;
  if (name) {
    const hit = drills.find((d) => d.value.name === name || d.exportName === name);
    if (!hit)
      throw new DefinitionError(loaded.file, [
        { path: '(exports)', problem: `no drill named '${name}'`, fix: `use one of: ${drills.map((d) => d.value.name).join(', ') || '(none)'}` },
      ]);
    return hit.value;
  }
  const chosen = drills.find((d) => d.exportName === 'default') ?? (drills.length === 1 ? drills[0] : undefined);
  const bake = loaded.definitions.find((d) => d.value.kind === 'bake');
  if (!chosen && drills.length === 0 && bake)
    throw new DefinitionError(loaded.file, [
      { path: '(exports)', problem: `'${bake.value.name}' is a bake, not a drill`, fix: `run it with 'drill bake ${loaded.file}'` },
    ]);
  if (!chosen)
    throw new DefinitionError(loaded.file, [
      drills.length === 0
        ? { path: '(exports)', problem: 'the file exports no drill', fix: 'export default defineGameDay({ … }) or defineDrill({ … })' }
        : {
            path: '(exports)',
            problem: `the file exports ${drills.length} drills`,
            fix: `pick one with --drill ${drills.map((d) => d.value.name).join(' | ')}`,
          },
    ]);
  return chosen.value;
}

export interface DrillListing {
  file: string;
  name: string;
  /** A bake runs with `drill bake`, a drill with `drill run`. */
  kind: 'drill' | 'bake';
  title: string;
  environments: string[];
}

/** Every drill file under `dir` (recursively), loaded and listed. Errors are collected, not thrown. */
export async function findDrills(dir: string, cwd = process.cwd()): Promise<{ drills: DrillListing[]; errors: DefinitionError[] }> {
  const root = resolve(cwd, dir);
  // fs.globSync (Node 22+) leaves hidden files and directories out, like a team's editor or a test's .tmp-* project.
  const files = existsSync(root)
    ? globSync('**/*.ts', { cwd: root })
        .filter((f) => !f.endsWith('.d.ts'))
        .map((f) => join(root, f))
    : [];
  const drills: DrillListing[] = [];
  const errors: DefinitionError[] = [];
  for (const f of files.sort()) {
    try {
      const loaded = await loadDefinitions(f, cwd);
      for (const d of loaded.definitions)
        if (isDefinedDrill(d.value) || d.value.kind === 'bake') {
          const plan = (d.value as unknown as { plan: { title: string; environments: string[] } }).plan;
          drills.push({
            file: loaded.file,
            name: d.value.name,
            kind: d.value.kind === 'bake' ? 'bake' : 'drill',
            title: plan.title,
            environments: plan.environments,
          });
        }
    } catch (err) {
      if (err instanceof DefinitionError) errors.push(err);
      else throw err;
    }
  }
  return { drills, errors };
}

/**
 * What `drill run <arg>` names: a file (as given, or with `.ts` added), else a drill's name as
 * `drill list` shows it, found under `<projectRoot>/drills`. A bake named here is an error
 * pointing at `drill bake`; an unknown name lists the known ones.
 */
export async function resolveDrillArg(arg: string, projectRoot: string, cwd = process.cwd()): Promise<{ file: string; drillName?: string }> {
  if (existsSync(resolve(cwd, arg))) return { file: arg };
  if (!arg.endsWith('.ts') && existsSync(resolve(cwd, `${arg}.ts`))) return { file: `${arg}.ts` };
  const looksLikePath = arg.includes('/') || arg.includes('\\') || arg.endsWith('.ts');
  if (looksLikePath) return { file: arg }; // loadDefinitions names the missing file
  const { drills, errors } = await findDrills('drills', projectRoot);
  const hits = drills.filter((d) => d.name === arg);
  const shown = (f: string) => relative(cwd, resolve(projectRoot, f)) || f;
  const drill = hits.find((d) => d.kind === 'drill');
  if (drill) return { file: shown(drill.file), drillName: drill.name };
  const bake = hits.find((d) => d.kind === 'bake');
  if (bake)
    throw new DefinitionError(shown(bake.file), [
      { path: '(exports)', problem: `'${arg}' is a bake, not a drill`, fix: `run it with 'drill bake ${shown(bake.file)}'` },
    ]);
  // The drill may be in a file that does not load: say which, rather than only "no such drill".
  const broken = errors.flatMap((e) => (e.file ? [shown(e.file)] : []));
  throw new DefinitionError(arg, [
    {
      path: '(file)',
      problem: `no such file, and no drill of that name under drills/${broken.length ? ` (${broken.join(', ')} did not load: 'drill validate' shows why)` : ''}`,
      fix: `give a drill file, or one of: ${
        drills
          .filter((d) => d.kind === 'drill')
          .map((d) => d.name)
          .join(', ') || '(none)'
      }`,
    },
  ]);
}

/** The environment `--env <name>` names in the loaded config; a usage error listing the ones there are otherwise. */
export function configuredEnvironment(loaded: { config: DrillbookConfig; file: string | undefined }, name: string): EnvironmentConfig {
  const env = loaded.config.environments[name];
  if (!env)
    throw new UsageError(
      `--env ${name}: ${loaded.file ? relative(process.cwd(), loaded.file) || loaded.file : 'drillbook.config.ts'} has no environment '${name}' (it has ${Object.keys(loaded.config.environments).join(', ')})`,
    );
  return env;
}

/** drillbook.config.ts at the project root, or the default (one `local` environment). */
export async function loadConfig(projectRoot: string): Promise<{ config: DrillbookConfig; file: string | undefined }> {
  const file = join(projectRoot, 'drillbook.config.ts');
  if (!existsSync(file)) return { config: DEFAULT_CONFIG, file: undefined };
  const loaded = await loadDefinitions(file, projectRoot);
  const cfg = loaded.definitions.find((d) => d.value.kind === 'config');
  if (!cfg)
    throw new DefinitionError(loaded.file, [
      { path: '(exports)', problem: 'no configuration exported', fix: 'export default defineConfig({ environments: { local: { kind: "local" } } })' },
    ]);
  return { config: cfg.value as unknown as DrillbookConfig, file: loaded.file };
}

/** The nearest folder above `from` holding drillbook.config.ts or a package.json with workspaces. */
export function findProjectRoot(from = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'drillbook.config.ts'))) return dir;
    const parent = resolve(dir, '..');
    if (parent === dir) return resolve(from);
    dir = parent;
  }
}
