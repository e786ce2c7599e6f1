// Importing a team's TypeScript definition files. Compiled (the published CLI), in a project whose
// package.json says `"type": "module"`, Node's own type stripping loads them first: `drill validate drills/nightly.ts` measured 0.34 s natively against
// 0.5 s through tsx, because Node then shares the harness modules the CLI already loaded. Files
// Node cannot load by itself (extensionless imports, enums, a compile error whose message tsx
// reports with line and column) go through tsx, and so does everything in a CommonJS project
// (what `npm init -y` writes), where Node would refuse the `import` syntax with a warning. Running from source (this repository's tests),
// tsx always: the test runner intercepts import() itself.
//
// tsx serves every file of a "generation" from one namespace, so @drillbook/harness and a team's
// shared modules (an SLO file several drills import) are evaluated once, not once per file. A file
// loaded again after it changed on disk starts a new generation, and a long-running process (the
// scheduler) calls freshDefinitions() before each run, so an edit is always seen; Node's own cache
// cannot forget a module, so from then on tsx loads everything.
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register as registerCjs } from 'tsx/cjs/api';
import { register as registerEsm, type NamespacedUnregister } from 'tsx/esm/api';
import { definitionIssuesOf } from '../errors.ts';

interface Generation {
  importer: NamespacedUnregister;
  unregisterCjs: () => void;
  /** Imports under way; a retired generation's hooks are removed once none is left. */
  inFlight: number;
  retired: boolean;
}

let current: Generation | undefined;
/** mtime of each file imported so far, by URL. */
const loaded = new Map<string, number>();
let nativeFirst = !import.meta.url.endsWith('.ts') && Boolean((process.features as { typescript?: unknown }).typescript);

function open(): Generation {
  const namespace = `drillbook-${randomUUID()}`;
  // Both hooks: a file in a `"type": "commonjs"` project is evaluated through the CommonJS one.
  const cjs = registerCjs({ namespace });
  return { importer: registerEsm({ namespace }), unregisterCjs: () => cjs.unregister(), inFlight: 0, retired: false };
}

function closeIfDone(g: Generation): void {
  if (!g.retired || g.inFlight > 0) return;
  void g.importer.unregister();
  g.unregisterCjs();
}

/** Forgets every module loaded so far: the next import reads the files again. */
export function freshDefinitions(): void {
  nativeFirst = false;
  loaded.clear();
  if (!current) return;
  const old = current;
  current = undefined;
  old.retired = true;
  closeIfDone(old); // a concurrent run still importing keeps the hooks until it is done
}

async function throughTsx(fileUrl: string, parentUrl: string): Promise<Record<string, unknown>> {
  const g = (current ??= open());
  g.inFlight++;
  try {
    return (await g.importer.import(fileUrl, parentUrl)) as Record<string, unknown>;
  } finally {
    g.inFlight--;
    closeIfDone(g);
  }
}

const moduleTypeByDir = new Map<string, boolean>();

/** Whether the nearest package.json above `file` says `"type": "module"`. */
function inEsmPackage(file: string): boolean {
  const dir = dirname(file);
  const known = moduleTypeByDir.get(dir);
  if (known !== undefined) return known;
  let answer = false;
  try {
    answer = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type === 'module';
  } catch (err) {
    const parent = dirname(dir);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && parent !== dir) answer = inEsmPackage(dir);
  }
  moduleTypeByDir.set(dir, answer);
  return answer;
}

/** The module namespace of a TypeScript (or JavaScript) file, by file URL. */
export async function importTypeScript(fileUrl: string, parentUrl: string): Promise<Record<string, unknown>> {
  const mtime = statSync(fileURLToPath(fileUrl), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const seen = loaded.get(fileUrl);
  if (seen !== undefined && seen !== mtime) freshDefinitions();
  loaded.set(fileUrl, mtime);
  if (nativeFirst && inEsmPackage(fileURLToPath(fileUrl))) {
    try {
      return (await import(fileUrl)) as Record<string, unknown>;
    } catch (err) {
      if (definitionIssuesOf(err)) throw err; // the file loaded and its definition is wrong: that is the answer
    }
  }
  return throughTsx(fileUrl, parentUrl);
}
