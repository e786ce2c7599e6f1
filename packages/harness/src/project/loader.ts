// Loading definition files (drills, journeys, load profiles, SLOs, the config) at run
// time. They are TypeScript, imported through tsx; every DefinitionError thrown while
// a file is evaluated is re-thrown naming that file.
import { existsSync, globSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { DEFAULT_CONFIG } from '../define/config.ts';
import { DefinitionError } from '../define/errors.ts';
import { definitionIssuesOf } from '../errors.ts';
import type { Defined, DefinedDrill, DefinedKind, DrillbookConfig } from '../define/types.ts';
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
    mod = (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
  } catch (err) {
    // tsImport evaluates the file with its own module instances, so match by shape, not class.
    const issues = definitionIssuesOf(err);
    if (issues) throw new DefinitionError(shown, issues);
    const message = (err as Error).message ?? String(err);
    throw new DefinitionError(shown, [
      {
        path: '(file)',
        problem: `could not be loaded: ${message.split('\n')[0]}`,
        fix: 'fix the TypeScript error above (run `npm run typecheck` for the full list)',
      },
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
          drills.push({ file: loaded.file, name: d.value.name, title: plan.title, environments: plan.environments });
        }
    } catch (err) {
      if (err instanceof DefinitionError) errors.push(err);
      else throw err;
    }
  }
  return { drills, errors };
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
