// vitest's global setup: `tsc -b` before any test, so tests that start the `drill` binary or
// load definition files (which import the compiled @drillbook/harness) never run a stale dist/.
// Nothing changed costs 0.1 s.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(root, 'packages', 'harness', 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
