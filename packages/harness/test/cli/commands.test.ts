// Every `drill` command, in-process through main(): a bad command line is answered with the
// command's usage and exit 2 before anything runs; `--help` lists every declared flag.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands.ts';
import type { CliIo } from '../../src/cli/io.ts';
import { reportError } from '../../src/cli/main.ts';
import { usageLine } from '../../src/cli/spec.ts';
import { drill } from '../support/drill-in-process.ts';

const repo = resolve(__dirname, '../../../..');
const tmp = mkdtempSync(join(repo, '.tmp-cli-commands-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The smallest command line that satisfies a command's required arguments and flags. */
function minimalArgs(name: string): string[] {
  const { spec } = commands.find((c) => c.spec.name === name)!;
  const args = spec.args.filter((a) => a.required).map((a) => a.choices?.[0] ?? `${a.name}-value`);
  const flags = Object.entries(spec.flags)
    .filter(([, f]) => f.required)
    .flatMap(([n]) => [`--${n}`, `${n}-value`]);
  return [...args, ...flags];
}

describe('every command', () => {
  it('the list covers every command the README names, and build and stage among them', () => {
    expect(commands.map((c) => c.spec.name).sort()).toEqual(
      [
        'bake',
        'build',
        'coverage',
        'doctor',
        'history',
        'init',
        'keygen',
        'list',
        'load',
        'mitigate',
        'recover',
        'remediate',
        'review',
        'run',
        'schedule',
        'schema',
        'sim',
        'stage',
        'synth',
        'validate',
        'verify',
      ].sort(),
    );
  });

  for (const { spec } of commands) {
    it(`${spec.name} --bogus exits 2 naming the flag, with the command's usage`, async () => {
      const r = await drill(spec.name, ...minimalArgs(spec.name), '--bogus');
      expect(r.code).toBe(2);
      expect(r.err).toContain(`drill ${spec.name}: unknown flag --bogus`);
      expect(r.err).toContain(usageLine(spec));
      expect(r.out).toBe('');
    });

    it(`${spec.name} --help exits 0 and lists every declared flag and argument`, async () => {
      const r = await drill(spec.name, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(usageLine(spec));
      expect(r.out).toContain(spec.summary);
      for (const [flag, f] of Object.entries(spec.flags)) {
        expect(r.out).toMatch(new RegExp(`--${flag}\\b.*${f.description.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      }
      for (const a of spec.args) expect(r.out).toContain(a.description);
      expect(r.out).toContain('-h, --help');
    });

    const required = spec.args.filter((a) => a.required);
    if (required.length) {
      it(`${spec.name} without <${required[0]!.name}> exits 2 saying what is missing`, async () => {
        const flags = Object.entries(spec.flags)
          .filter(([, f]) => f.required)
          .flatMap(([n]) => [`--${n}`, `${n}-value`]);
        const r = await drill(spec.name, ...flags);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(new RegExp(`drill ${spec.name}: missing `));
        expect(r.err).toContain(usageLine(spec));
      });
    }
  }
});

describe('the command line is checked against the declaration', () => {
  it('a string flag without its value, or with a flag in its place, exits 2', async () => {
    const missing = await drill('run', 'drills/nightly.ts', '--env');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('drill run: --env needs a value: --env <name>');
    const flagAsValue = await drill('run', 'drills/nightly.ts', '--env', '--dry-run');
    expect(flagAsValue.code).toBe(2);
    expect(flagAsValue.err).toContain('--env needs a value, got the flag --dry-run');
  });

  it('a boolean flag given a value exits 2', async () => {
    const r = await drill('list', '--json=yes');
    expect(r.code).toBe(2);
    expect(r.err).toContain('drill list: --json takes no value');
  });

  it('an extra argument exits 2 naming it', async () => {
    const r = await drill('run', 'drills/nightly.ts', 'drills/example.ts', '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toContain("drill run: unexpected argument 'drills/example.ts'");
  });

  it('a value outside the declared choices exits 2: stage action, schedule --emit, bake --clock', async () => {
    const stage = await drill('stage', 'sideways');
    expect(stage.code).toBe(2);
    expect(stage.err).toContain("drill stage: <action> is one of up, down, status, not 'sideways'");
    expect(stage.err).toContain('usage: drill stage up|down|status [--json] [--replicas <N>] [--restart-delay <MS>] [--state-dir <DIR>]');
    const emit = await drill('schedule', 'drills/nightly.ts', '--emit', 'helm');
    expect(emit.code).toBe(2);
    expect(emit.err).toContain("--emit takes k8s or github, not 'helm'");
    const clock = await drill('bake', 'drills/bake-72h.ts', '--clock', 'sundial');
    expect(clock.code).toBe(2);
    expect(clock.err).toContain("--clock takes real or virtual, not 'sundial'");
  });

  it('a required flag left out exits 2: review --release, synth --target', async () => {
    const review = await drill('review');
    expect(review.code).toBe(2);
    expect(review.err).toContain('drill review: --release <tag> is required');
    const synth = await drill('synth', 'synthetics/graph-api.ts');
    expect(synth.code).toBe(2);
    expect(synth.err).toContain('drill synth: --target <base-url> is required');
  });

  it('stage numbers are checked before anything starts', async () => {
    const r = await drill('stage', 'up', '--replicas', 'two', '--state-dir', join(tmp, 'never-used'));
    expect(r.code).toBe(2);
    expect(r.err).toContain("drill stage: --replicas takes a whole number of at least 1, not 'two'");
  });

  it('stage flags reach the stage package: status of an empty state dir is "none running" (exit 3), as JSON with --json', async () => {
    const r = await drill('stage', 'status', '--json', '--state-dir', join(tmp, 'no-stage'));
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out)).toEqual({ running: false, components: [] });
  });

  it('help wins over other problems, and `drill help <command>` is the same help', async () => {
    const r = await drill('run', '--bogus', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain(usageLine(commands.find((c) => c.spec.name === 'run')!.spec));
    expect((await drill('help', 'run')).out).toBe(r.out);
  });
});

describe('drill itself', () => {
  it('drill --help lists every command with its summary and the exit codes', async () => {
    const r = await drill('--help');
    expect(r.code).toBe(0);
    for (const { spec } of commands) expect(r.out.split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^  ${spec.name} +`)));
    for (const { spec } of commands) expect(r.out).toContain(spec.summary);
    expect(r.out).toContain('exit codes: 0 pass · 1 drill failed (or an internal error: a bug in Drillbook, printed with its stack) · 2 usage');
  });

  it('no command, or an unknown one, exits 2 with the command list on stderr', async () => {
    const none = await drill();
    expect(none.code).toBe(2);
    expect(none.err).toContain('commands:');
    const unknown = await drill('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("drill: unknown command 'frobnicate'");
    expect((await drill('help', 'frobnicate')).code).toBe(2);
  });

  it('an error that carries its exit code prints its message, not a stack', async () => {
    const file = join(tmp, 'no-profile.ts');
    writeFileSync(file, 'export const nothing = 1;\n');
    const r = await drill('load', file, '--target', 'http://127.0.0.1:9');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no-profile.ts: (exports): no load profile found');
    expect(r.err).toContain('fix: export default defineLoadProfile');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('any other error is a bug: its stack is printed and the exit code is 1', () => {
    const err: string[] = [];
    const io: CliIo = { out: () => {}, err: (t) => void err.push(t), isTty: false };
    const code = reportError(
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      commands.find((c) => c.spec.name === 'list')!,
      io,
    );
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('drill list: internal error — this is a bug in Drillbook');
    expect(err.join('\n')).toMatch(/TypeError: Cannot read properties of undefined \(reading 'x'\)\n\s+at /);
  });
});
