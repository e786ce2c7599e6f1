// Importing a team's TypeScript definition files. Compiled (the published CLI), Node's own type
// stripping loads them first: `drill validate drills/nightly.ts` takes 0.3 s against 0.5–0.9 s
// through tsx, because Node then shares the harness modules (zod alone is 234 of them) the CLI
// already loaded. In a CommonJS project (what `npm init -y` writes) Node would take a `.ts` file
// for CommonJS and refuse its `import` syntax, so an in-thread load hook tells it the team's `.ts`
// files are ES modules, as definition files are written. Files Node cannot load by itself
// (extensionless imports, enums, a compile error whose message tsx reports with line and column)
// go through tsx. Running from source (this repository's tests), tsx always: the test runner
// intercepts import() itself.
//
// tsx serves every file of a "generation" from one namespace, so @drillbook/harness and a team's
// shared modules (an SLO file several drills import) are evaluated once, not once per file. A file
// loaded again after it changed on disk starts a new generation, and a long-running process (the
// scheduler) calls freshDefinitions() before each run, so an edit is always seen; Node's own cache
// cannot forget a module, so from then on tsx loads everything.
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
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

type LoadHook = (url: string, context: object, next: (url: string, context: object) => { format?: string | null; source?: unknown }) => unknown;
const registerHooks = (nodeModule as { registerHooks?: (hooks: { load: LoadHook }) => unknown }).registerHooks;
let esmHook = false;

/** Node's native loader may import the team's files: with type stripping, and the hook below in place. */
function nativeReady(): boolean {
  if (!nativeFirst || !registerHooks) return false;
  if (!esmHook) {
    // Synchronous and in-thread (Node ≥ 22.15): a `.ts` file of the team's (never a package's) that
    // Node would load as CommonJS is handed over as an ES module instead.
    registerHooks({
      load(url, context, next) {
        const r = next(url, context);
        if (r.format !== 'commonjs-typescript' || !url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) return r;
        return { ...r, format: 'module-typescript', source: r.source ?? readFileSync(fileURLToPath(url)) };
      },
    });
    esmHook = true;
  }
  return true;
}

/** The module namespace of a TypeScript (or JavaScript) file, by file URL. */
export async function importTypeScript(fileUrl: string, parentUrl: string): Promise<Record<string, unknown>> {
  const mtime = statSync(fileURLToPath(fileUrl), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const seen = loaded.get(fileUrl);
  if (seen !== undefined && seen !== mtime) freshDefinitions();
  loaded.set(fileUrl, mtime);
  if (nativeReady()) {
    try {
      return (await import(fileUrl)) as Record<string, unknown>;
    } catch (err) {
      if (definitionIssuesOf(err)) throw err; // the file loaded and its definition is wrong: that is the answer
    }
  }
  return throughTsx(fileUrl, parentUrl);
}
