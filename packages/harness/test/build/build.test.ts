// drill build against this repository's own alerts/ and runbooks/, checked with the
// real promtool: rule syntax, the generated alert tests, and byte-for-byte determinism.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, mkdir, writeFile, cp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runBuild, type BuildReport } from '../../src/build/run.ts';
import { main } from '../../src/cli/main.ts';
import { dashboardQueries } from '../../src/build/dashboards.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const PROMTOOL = '/usr/bin/promtool';
const temps: string[] = [];
const tempDir = async (prefix: string, base = os.tmpdir()) => {
  await mkdir(base, { recursive: true });
  const d = await mkdtemp(path.join(base, prefix));
  temps.push(d);
  return d;
};

let outA: string;
let outB: string;
let report: BuildReport;

beforeAll(async () => {
  outA = await tempDir('drillbook-build-a-');
  outB = await tempDir('drillbook-build-b-');
  report = await runBuild({ projectRoot: repoRoot, outDir: outA });
  await runBuild({ projectRoot: repoRoot, outDir: outB });
});

afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe('drill build on this repository', () => {
  it('builds the stage SLOs and operational alerts', () => {
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.slos).toEqual(['graph-api:availability', 'graph-api:latency']);
    expect(report.alerts).toEqual(['GraphApiAvailability', 'GraphApiDatabaseDown', 'GraphApiLatency', 'GraphApiReplicaDown', 'GraphApiRouteFailing']);
    expect(report.files).toEqual(expect.arrayContaining(['alerts/graph-api.yaml', 'dashboards/slo-graph-api.json', 'dashboards/drills.json']));
  });

  it('is deterministic: two builds give the same bytes', async () => {
    for (const f of report.files) {
      const [a, b] = await Promise.all([readFile(path.join(outA, f)), readFile(path.join(outB, f))]);
      expect(a.equals(b), f).toBe(true);
    }
  });

  it('writes Sloth-compatible recordings and alerts that carry severity, summary, description and an existing runbook', async () => {
    const file = parse(await readFile(path.join(outA, 'alerts/graph-api.yaml'), 'utf8')) as {
      groups: Array<{
        name: string;
        rules: Array<{ record?: string; alert?: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }>;
      }>;
    };
    const records = new Set(file.groups.flatMap((g) => g.rules.map((r) => r.record)).filter(Boolean));
    for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']) expect(records).toContain(`slo:sli_error:ratio_rate${w}`);
    for (const m of [
      'slo:objective:ratio',
      'slo:error_budget:ratio',
      'slo:time_period:days',
      'slo:current_burn_rate:ratio',
      'slo:period_burn_rate:ratio',
      'slo:period_error_budget_remaining:ratio',
    ]) {
      expect(records).toContain(m);
    }
    const sli = file.groups.find((g) => g.name === 'sloth-slo-sli-recordings-graph-api-availability')!.rules[0]!;
    expect(sli.labels).toEqual({ sloth_id: 'graph-api-availability', sloth_service: 'graph-api', sloth_slo: 'availability', sloth_window: '5m' });
    const alerts = file.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBe(2 * 6 + 3); // 2 SLOs × 6 burn alerts + 3 operational alerts
    for (const a of alerts) {
      expect(['critical', 'warning']).toContain(a.labels.severity);
      expect(a.annotations.summary).toBeTruthy();
      expect(a.annotations.description).toBeTruthy();
      expect(existsSync(path.join(repoRoot, a.annotations.runbook_url!)), a.annotations.runbook_url).toBe(true);
    }
    const page = alerts.find((a) => a.alert === 'GraphApiAvailability' && a.labels.long_window === '1h')!;
    expect(page.labels).toMatchObject({ severity: 'critical', sloth_severity: 'page', burn_factor: '14.4', short_window: '5m' });
    expect(page.expr).toContain('> (14.4 * 0.001)');
  });

  it('every rule file passes promtool check rules', async () => {
    const files = report.files.filter((f) => f.startsWith('alerts/') && f.endsWith('.yaml') && !f.endsWith('.test.yaml')).map((f) => path.join(outA, f));
    expect(files.length).toBe(3);
    const { stdout } = await run(PROMTOOL, ['check', 'rules', ...files]);
    expect(stdout.match(/SUCCESS/g)?.length).toBe(3);
  });

  it('the generated promtool suites pass: alerts fire above their burn factor in time and stay quiet below', async () => {
    const suites = report.files.filter((f) => f.endsWith('.test.yaml')).map((f) => path.join(outA, f));
    expect(suites.map((s) => path.basename(s)).sort()).toEqual([
      'graph-api-availability-fast.test.yaml',
      'graph-api-availability-slow.test.yaml',
      'graph-api-latency-fast.test.yaml',
      'graph-api-latency-slow.test.yaml',
      'graph-api-operational.test.yaml',
    ]);
    // Every burn-rate rule has an "above" and a "below" case, and the above case expects it firing.
    const fast = parse(
      await readFile(
        suites.find((s) => s.endsWith('availability-fast.test.yaml'))!,
        'utf8',
      ),
    );
    const names: string[] = fast.tests.map((t: { name: string }) => t.name);
    expect(names).toContain('GraphApiAvailability 5m/1h at 15.84x (above 14.4x)');
    expect(names).toContain('GraphApiAvailability 5m/1h at 12.96x (below 14.4x)');
    const above = fast.tests.find((t: { name: string }) => t.name.startsWith('GraphApiAvailability 5m/1h') && t.name.includes('above'));
    expect(above.alert_rule_test.at(-1).exp_alerts.map((a: { exp_labels: Record<string, string> }) => a.exp_labels.burn_factor)).toEqual(['14.4']);
    expect(above.alert_rule_test[0].exp_alerts).toEqual([]);
    // Two promtool processes at a time (the machine has two cores).
    const results: Array<{ suite: string; ok: boolean; out: string }> = [];
    const queue = [...suites];
    await Promise.all(
      [0, 1].map(async () => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          try {
            const r = await run(PROMTOOL, ['test', 'rules', s], { cwd: path.dirname(s), maxBuffer: 16 << 20 });
            results.push({ suite: s, ok: true, out: r.stdout });
          } catch (e) {
            results.push({ suite: s, ok: false, out: String((e as { stdout?: string }).stdout ?? e) });
          }
        }
      }),
    );
    for (const r of results) expect(r.ok, `${path.basename(r.suite)}\n${r.out}`).toBe(true);
  }, 600_000);

  it('the suites discriminate: a page rule with a too-high threshold fails its "above" case', async () => {
    // Copy one case and its rule file, raise the 14.4x threshold to 16x (above the 15.84x burn): promtool must fail.
    const dir = await tempDir('drillbook-mutant-');
    const suite = parse(await readFile(path.join(outA, 'alerts/tests/graph-api-availability-fast.test.yaml'), 'utf8'));
    suite.tests = suite.tests.filter((t: { name: string }) => t.name === 'GraphApiAvailability 5m/1h at 15.84x (above 14.4x)');
    expect(suite.tests.length).toBe(1);
    const rules = await readFile(path.join(outA, 'alerts/tests', suite.rule_files[0]), 'utf8');
    const mutated = rules.replaceAll('> (14.4 * 0.001)', '> (16 * 0.001)');
    expect(mutated).not.toBe(rules);
    await writeFile(path.join(dir, 'rules.yaml'), mutated);
    await writeFile(path.join(dir, 'rules-original.yaml'), rules);
    await writeFile(path.join(dir, 'mutant.test.yaml'), JSON.stringify({ ...suite, rule_files: ['rules.yaml'] }));
    await writeFile(path.join(dir, 'original.test.yaml'), JSON.stringify({ ...suite, rule_files: ['rules-original.yaml'] }));
    await expect(run(PROMTOOL, ['test', 'rules', 'original.test.yaml'], { cwd: dir })).resolves.toBeDefined();
    const failed = await run(PROMTOOL, ['test', 'rules', 'mutant.test.yaml'], { cwd: dir }).then(
      () => '',
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(failed).toContain('FAILED');
    expect(failed).toContain('burn_factor="14.4"');
  }, 120_000);

  it('dashboards carry burn-rate thresholds at the alert factors and a drill annotation', async () => {
    const json = await readFile(path.join(outA, 'dashboards/slo-graph-api.json'), 'utf8');
    const d = JSON.parse(json);
    const burn = d.panels.find((p: { title?: string }) => p.title?.startsWith('availability: burn rate'));
    expect(burn.fieldConfig.defaults.thresholds.steps.map((s: { value: number | null }) => s.value)).toEqual([null, 1, 3, 6, 14.4]);
    expect(d.templating.list.map((v: { name: string }) => v.name)).toEqual(['datasource', 'route']);
    expect(d.annotations.list.some((a: { expr?: string }) => a.expr?.includes('drillbook_fault_active'))).toBe(true);
    const titles = d.panels.map((p: { title?: string }) => p.title);
    for (const t of ['Request rate', 'Error ratio (5xx)', 'Latency p50 / p95', 'availability: error budget remaining (30d)']) expect(titles).toContain(t);
    expect(dashboardQueries(json).queries.length).toBeGreaterThan(15);
  });
});

describe('drill build with broken runbooks', () => {
  let project: string;
  beforeAll(async () => {
    // Inside the repository so `@drillbook/harness` resolves from its node_modules.
    project = await tempDir('build-', path.join(repoRoot, '.tmp'));
    await cp(path.join(repoRoot, 'alerts'), path.join(project, 'alerts'), { recursive: true });
    await mkdir(path.join(project, 'runbooks'));
    const good = await readFile(path.join(repoRoot, 'runbooks/graph-api-availability.md'), 'utf8');
    await writeFile(path.join(project, 'runbooks/graph-api-availability.md'), good);
    await writeFile(path.join(project, 'runbooks/graph-api-latency.md'), good.replace(/## Rollback[\s\S]*?## Escalation/, '## Escalation'));
    await writeFile(path.join(project, 'runbooks/graph-api-replica-down.md'), good.replace(/```promql[\s\S]*?```/g, ''));
    await writeFile(path.join(project, 'runbooks/orphan.md'), good);
  });

  it('exits 2 naming the alert with a missing runbook, the missing section, and the unlinked runbook; writes nothing', async () => {
    const err: string[] = [];
    const code = await main(['build', '--root', project], { out: () => {}, err: (l) => err.push(l), isTty: false });
    const text = err.join('\n');
    expect(code).toBe(2);
    expect(text).toContain(
      'alerts/graph-api.alerts.ts: GraphApiDatabaseDown.runbook: alert GraphApiDatabaseDown links runbooks/graph-api-database-down.md, which does not exist',
    );
    expect(text).toContain('runbooks/graph-api-latency.md: ## Rollback: section missing');
    expect(text).toContain('runbooks/graph-api-replica-down.md: ## Diagnosis: no PromQL query');
    expect(text).toContain('runbooks/orphan.md: (root): no alert links this runbook');
    expect(text).toMatch(/fix: /);
    expect(existsSync(path.join(project, 'out'))).toBe(false);
  });

  it('exits 2 on an invalid definition, naming file, field and fix', async () => {
    await writeFile(
      path.join(project, 'alerts/bad.slo.ts'),
      "import { defineSlo } from '@drillbook/harness';\nexport const bad = defineSlo({ service: 'graph-api', name: 'bad', objective: 120, sli: { errors: 'x', total: 'y' }, alerting: { name: 'Bad', runbook: 'runbooks/orphan.md' } });\n",
    );
    const err: string[] = [];
    const code = await main(['build', '--root', project, '--out', 'build-out'], { out: () => {}, err: (l) => err.push(l), isTty: false });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/alerts\/bad\.slo\.ts: objective: .*\n {2}fix: give the target in percent/);
  });
});
