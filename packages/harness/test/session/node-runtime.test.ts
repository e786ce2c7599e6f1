// No child process of a run starts on a different Node than the harness: a child harness and the
// script it runs report the parent's process.version, and no spawn site in the code names a bare
// `node`/`npx`/`tsx` (which PATH could resolve to the machine's end-of-life Node, not the one in use).
// The stage host and replicas report theirs in /metrics: running-stage.test.ts checks those.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '..', '..', '..', '..');

/** Source files where child processes are started: both packages (code and tests), the benchmark and the tools. */
function sourceFiles(): string[] {
  const dirs = ['packages/harness/src', 'packages/harness/test', 'packages/harness/bin', 'packages/stage/src', 'packages/stage/test', 'bench', 'tools'];
  return dirs.flatMap((d) =>
    (readdirSync(join(repoRoot, d), { recursive: true }) as string[])
      .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !f.split('/').includes('node_modules'))
      .map((f) => join(d, f)),
  );
}

// A command given as a literal name that PATH resolves: spawn('node', …), execFile("npx", …), { command: 'tsx' }.
const BARE_NODE =
  /\b(?:spawn|spawnSync|execFile|execFileSync|fork|exec|execSync)\(\s*['"`](?:node|nodejs|npx|tsx)\b|\bcommand:\s*['"`](?:node|nodejs|npx|tsx)['"`]/;

describe('the Node a run starts its children on', () => {
  it('a child harness and the script it runs report the Node of the process that started them', () => {
    const fixture = join(import.meta.dirname, 'fixtures', 'node-version-harness.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ harness: process.version, script: process.version });
  });

  it('no spawn site starts a bare node, npx or tsx from PATH', () => {
    // The pattern bites on what it is for, and the scan sees the stage host's spawn site.
    expect(["spawn('node', [main])", 'execFileSync("npx", args)', "{ command: 'tsx', args }"].filter((l) => BARE_NODE.test(l))).toHaveLength(3);
    expect(BARE_NODE.test("spawn(process.execPath, ['--import', 'tsx', main])")).toBe(false);
    const files = sourceFiles();
    expect(files).toContain(join('packages/stage/src', 'index.ts'));
    // This file holds the examples above, so it is the one file not scanned.
    const offenders = files
      .filter((f) => !f.endsWith('node-runtime.test.ts'))
      .flatMap((f) =>
        readFileSync(join(repoRoot, f), 'utf8')
          .split('\n')
          .flatMap((line, i) =>
            BARE_NODE.test(line) && !/^\s*(\/\/|\*)/.test(line) ? [`${f}:${i + 1}: ${line.trim()} — spawn process.execPath instead`] : [],
          ),
      );
    expect(offenders).toEqual([]);
  });
});
