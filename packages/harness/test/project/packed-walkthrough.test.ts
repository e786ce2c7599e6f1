// What a team gets from npm: both packages packed, installed from the tarballs into an empty
// project outside this repository (nothing of the repository's node_modules reachable), and
// the README's "Drill your own service" walked there with the installed `drill`. Also: the
// tarballs hold compiled JavaScript and declarations only, and the team's definition files
// type-check against the shipped declarations.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedDrill, installPacked } from '../support/packed-project.ts';
import { startSupervisedService, walkOwnService, type SupervisedService } from '../support/own-service.ts';

const repo = resolve(__dirname, '../../../..');
const root = mkdtempSync(join(tmpdir(), 'drillbook-packed-'));
const project = join(root, 'team-project');
const tarballs = join(root, 'tarballs');
let service: SupervisedService | undefined;

beforeAll(async () => {
  mkdirSync(project);
  mkdirSync(tarballs);
  installPacked(project, tarballs);
  service = await startSupervisedService(project);
}, 240_000);

afterAll(() => {
  service?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('the packed packages in a team project', () => {
  it('ship compiled JavaScript and declarations, not sources or tests', () => {
    for (const name of ['harness', 'stage']) {
      const files = execFileSync('find', ['.', '-type', 'f'], { cwd: join(project, 'node_modules', '@drillbook', name) })
        .toString()
        .trim()
        .split('\n');
      expect(files.filter((f) => f.startsWith('./src/') || f.startsWith('./test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
      expect(files).toContain('./dist/index.js');
      expect(files).toContain('./dist/index.d.ts');
    }
  });

  it('init → run the first game-day → TTR matches the supervisor log → the pack verifies', async () => {
    await walkOwnService(project, service!.port, installedDrill(project), 'packed walk-through');
  }, 240_000);

  it("the project's definition files type-check against the shipped declarations", () => {
    // Runs after the walk-through, which wrote them with `drill init`.
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'preserve',
          moduleResolution: 'bundler',
          strict: true,
          noEmit: true,
          typeRoots: [join(repo, 'node_modules', '@types')],
          types: ['node'],
        },
        include: ['drillbook.config.ts', 'drills', 'alerts', 'synthetics', 'load'],
      }),
    );
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      output = String((e as { stdout?: Buffer }).stdout ?? e);
    }
    expect(output).toBe('');
  });
});
