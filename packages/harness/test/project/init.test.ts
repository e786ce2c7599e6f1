// `drill init` end to end in-process: the files it writes load, validate and build; a second
// init overwrites nothing; a bad command line names the flag. The project lives inside the
// repository so its definitions resolve '@drillbook/harness' as a team's would after install.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as prettier from 'prettier';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkRunbookText } from '../../src/build/runbooks.ts';
import { initFiles, mergeGitignore, type InitOptions } from '../../src/project/init.ts';
import { loadConfig } from '../../src/project/loader.ts';
import { drill } from '../support/drill-in-process.ts';

const repo = resolve(__dirname, '../../../..');
const tmp = mkdtempSync(join(repo, '.tmp-init-'));
const startDir = process.cwd();
afterEach(() => process.chdir(startDir));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function project(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  return dir;
}

const written = (out: string) => [...out.matchAll(/^wrote {4}(\S+)/gm)].map((m) => m[1]);
const skipped = (out: string) => [...out.matchAll(/^skipped {2}(\S+)/gm)].map((m) => m[1]);

const variants: { name: string; flags: string[]; envName: string }[] = [
  { name: 'hosts', flags: ['--env', 'hosts', '--url', 'http://127.0.0.1:8080', '--pid-file', './svc.pid'], envName: 'hosts' },
  { name: 'local', flags: ['--env', 'local'], envName: 'local' },
  {
    name: 'kubernetes',
    flags: ['--env', 'kubernetes', '--context', 'stage', '--namespace', 'shop', '--selector', 'app=checkout', '--service', 'checkout'],
    envName: 'kubernetes',
  },
];

describe('drill init', () => {
  for (const v of variants) {
    it(`--env ${v.name}: writes the project, which validates and builds; a second init skips every file`, async () => {
      const dir = project(v.name);
      const first = await drill('init', ...v.flags, '--dir', dir);
      expect(first.code, first.err).toBe(0);
      const files = written(first.out);
      expect(files).toEqual(expect.arrayContaining(['drillbook.config.ts', 'drills/first-game-day.ts', 'synthetics/up.ts', 'load/steady.ts']));
      expect(files.some((f) => /^alerts\/.+\.slo\.ts$/.test(f!))).toBe(true);
      expect(files.some((f) => /^runbooks\/.+\.md$/.test(f!))).toBe(true);
      for (const f of files) expect(existsSync(join(dir, f!))).toBe(true);
      expect(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['.drillbook/', 'out/', 'evidence-pack/']));
      expect(first.out).toContain(`npx drill run drills/first-game-day.ts --env ${v.envName}`);
      for (const f of files) expect(readFileSync(join(dir, f!), 'utf8')).not.toMatch(/from '(?!@drillbook\/harness')/);

      // The config names the environment the game-day runs in.
      const { config } = await loadConfig(dir);
      expect(Object.keys(config.environments)).toEqual([v.envName]);
      expect(config.environments[v.envName]!.kind).toBe(v.name);

      process.chdir(dir);
      const validate = await drill('validate');
      expect(validate.code, validate.err).toBe(0);
      expect(validate.out).toMatch(/5 file\(s\), 5 definition\(s\): all valid/);
      const build = await drill('build');
      expect(build.code, build.err).toBe(0);
      expect(build.out).toMatch(/1 SLO\(s\)/);
      process.chdir(startDir);

      const before = files.map((f) => readFileSync(join(dir, f!), 'utf8'));
      const gitignoreBefore = readFileSync(join(dir, '.gitignore'), 'utf8');
      const second = await drill('init', ...v.flags, '--dir', dir);
      expect(second.code, second.err).toBe(0);
      expect(written(second.out)).toEqual([]);
      expect(skipped(second.out)).toEqual([...files, '.gitignore']);
      expect(files.map((f) => readFileSync(join(dir, f!), 'utf8'))).toEqual(before);
      expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe(gitignoreBefore);
    });
  }

  it('in an existing repository: keeps its files and .gitignore lines, adds only what is missing', async () => {
    const dir = project('existing');
    writeFileSync(join(dir, '.gitignore'), 'node_modules/\nout/');
    mkdirSync(join(dir, 'load'));
    writeFileSync(join(dir, 'load/steady.ts'), '// ours\n');
    const r = await drill('init', '--env', 'local', '--dir', dir);
    expect(r.code, r.err).toBe(0);
    expect(skipped(r.out)).toEqual(['load/steady.ts']);
    expect(r.out).toMatch(/1 file\(s\) already existed/);
    expect(readFileSync(join(dir, 'load/steady.ts'), 'utf8')).toBe('// ours\n');
    const lines = readFileSync(join(dir, '.gitignore'), 'utf8').split('\n');
    expect(lines.filter((l) => l === 'out/')).toHaveLength(1);
    expect(lines.slice(0, 2)).toEqual(['node_modules/', 'out/']);
    expect(lines).toEqual(expect.arrayContaining(['.drillbook/', 'evidence-pack/']));
  });

  it('a bad command line exits 2 naming the flag, and writes nothing', async () => {
    const dir = project('bad');
    const cases: [string[], RegExp][] = [
      [['--env', 'hosts', '--pid-file', './svc.pid'], /--env hosts needs --url/],
      [['--env', 'hosts', '--url', 'http://127.0.0.1:8080'], /--env hosts needs --pid-file/],
      [['--env', 'hosts', '--url', 'not a url', '--pid-file', 'p'], /--url 'not a url' is not a URL/],
      [['--env', 'kubernetes', '--context', 'c', '--namespace', 'n'], /--env kubernetes needs --selector/],
      [['--env', 'kubernetes', '--context', 'c', '--namespace', 'n', '--selector', 'app'], /--selector 'app' must be one label as key=value/],
      [['--env', 'cloud'], /--env takes local or hosts or kubernetes/],
      [['--url', 'http://x'], /--env/],
      [['--env', 'local', '--service', 'My Service'], /--service 'My Service' is not a name/],
    ];
    for (const [flags, message] of cases) {
      const r = await drill('init', ...flags, '--dir', dir);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err, flags.join(' ')).toMatch(message);
    }
    expect(existsSync(join(dir, 'drillbook.config.ts'))).toBe(false);
    expect(existsSync(join(dir, '.gitignore'))).toBe(false);
  });
});

describe('init templates (pure)', () => {
  const hosts: InitOptions = { env: 'hosts', url: 'http://127.0.0.1:8080', pidFile: './svc.pid', service: 'my-service' };

  it('the runbook passes the runbook checks and the SLO links it', () => {
    const files = initFiles(hosts);
    const runbook = files.find((f) => f.path.startsWith('runbooks/'))!;
    expect(checkRunbookText(runbook.path, runbook.text)).toEqual([]);
    expect(files.find((f) => f.path.startsWith('alerts/'))!.text).toContain(`runbook: '${runbook.path}'`);
  });

  it('the hosts target names the pid file and refuses a process not listening on the URL port', () => {
    const config = initFiles(hosts).find((f) => f.path === 'drillbook.config.ts')!.text;
    expect(config).toContain("pidFile: './svc.pid', listenPort: 8080");
    const game = initFiles(hosts).find((f) => f.path === 'drills/first-game-day.ts')!.text;
    expect(game).toContain("fault.podKill({ target: 'api'");
    expect(game).toContain("environments: ['hosts']");
  });

  it("every file is already in the project's prettier style, for every environment kind", async () => {
    const kube: InitOptions = { env: 'kubernetes', context: 'c', namespace: 'n', selector: 'app.kubernetes.io/name=x', service: 'checkout' };
    for (const o of [hosts, kube, { env: 'local', service: 'my-service' } satisfies InitOptions]) {
      for (const f of initFiles(o)) {
        const filepath = join(repo, f.path);
        const options = { ...(await prettier.resolveConfig(filepath)), filepath };
        expect(await prettier.check(f.text, options), `${o.env}: ${f.path}`).toBe(true);
      }
    }
  });

  it('mergeGitignore appends only missing lines and knows when nothing is missing', () => {
    expect(mergeGitignore(undefined)!.added).toEqual(['.drillbook/', 'out/', 'evidence-pack/']);
    expect(mergeGitignore('/out\n.drillbook\n')!.added).toEqual(['out/', 'evidence-pack/']);
    expect(mergeGitignore('.drillbook/\nout/\nevidence-pack/\n')).toBeUndefined();
  });
});
