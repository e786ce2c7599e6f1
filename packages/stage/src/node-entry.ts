// How this package starts one of its own modules as a separate Node process. Published, the
// package is compiled JavaScript under dist/ and Node runs it directly; in this repository's
// tests and development the source runs through tsx. One place decides, by the extension of
// this very file, so a child never runs a different build than its parent.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');

/** Node's arguments to run `module` (a path under src/ without extension, e.g. 'host/main'). */
export function nodeArgsFor(module: string): string[] {
  return fromSource ? ['--import', 'tsx', join(here, `${module}.ts`)] : [join(here, `${module}.js`)];
}

/** The package's own directory (where migrations/ and system-requirements.json are), from src/ or dist/. */
export const packageDir = resolve(here, '..');
