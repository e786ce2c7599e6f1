// `drill build`: load alerts/*.ts, check runbooks, write out/alerts/*.yaml (+ promtool
// suites under out/alerts/tests/), out/dashboards/*.json (generated, then the team's
// dashboards/*.ts; every dashboard checked before any file is written). The I/O edge of build/.
import { mkdir, readdir, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { importTypeScript } from '../project/ts-import.ts';
import { definitionIssuesOf } from '../errors.ts';
import { isAlertDefinition, isSloDefinition, type AlertDefinition, type SloDefinition } from '../define/slo.ts';
import { drillDashboard, sloDashboard } from './dashboards.ts';
import { alertPromtoolTests, sloPromtoolTests, type GeneratedFile } from './promtool-tests.ts';
import { ruleFileYaml, serviceRuleFile, cmp, type RuleFile, type RuleOptions } from './rules.ts';
import { metricCatalogue } from './metric-catalogue.ts';
import { buildTeamDashboards, checkDashboards, type BuiltDashboard } from './team-dashboards.ts';
import { checkRunbookLinks, checkRunbookText, readRunbooks, type AlertRunbookLink, type RunbookProblem } from './runbooks.ts';

export interface BuildOptions {
  projectRoot: string;
  /** Relative to projectRoot unless absolute. */
  outDir?: string;
  /** Prefix for `runbook_url` (e.g. a repository URL); default: the repository-relative path. */
  runbookBaseUrl?: string;
}

export interface BuildReport {
  ok: boolean;
  outDir: string;
  /** Files written, relative to outDir, sorted. */
  files: string[];
  slos: string[];
  alerts: string[];
  problems: RunbookProblem[];
}

interface Loaded {
  slos: Array<{ def: SloDefinition; source: string }>;
  alerts: Array<{ def: AlertDefinition; source: string }>;
  problems: RunbookProblem[];
}

/** Imports every alerts/*.ts and keeps the SLOs and alerts it exports. */
export async function loadAlertDefinitions(projectRoot: string): Promise<Loaded> {
  const dir = path.join(projectRoot, 'alerts');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')).sort();
  const out: Loaded = { slos: [], alerts: [], problems: [] };
  for (const n of names) {
    const source = `alerts/${n}`;
    let mod: Record<string, unknown>;
    try {
      mod = (await importTypeScript(pathToFileURL(path.join(dir, n)).href, import.meta.url)) as Record<string, unknown>;
    } catch (e) {
      const issues = definitionIssuesOf(e);
      if (issues) {
        for (const i of issues) out.problems.push({ ...i, file: source });
        continue;
      }
      throw e;
    }
    for (const key of Object.keys(mod).sort()) {
      const v = mod[key];
      if (isSloDefinition(v)) out.slos.push({ def: v, source });
      else if (isAlertDefinition(v)) out.alerts.push({ def: v, source });
    }
  }
  return out;
}

function duplicates(loaded: Loaded): RunbookProblem[] {
  const seen = new Map<string, string>();
  const problems: RunbookProblem[] = [];
  const claim = (key: string, source: string, what: string) => {
    const prev = seen.get(key);
    if (prev !== undefined && prev !== source + what)
      problems.push({
        file: source,
        path: what,
        problem: `${key} is defined twice (also in ${prev.replace(what, '')})`,
        fix: 'give each SLO id and alert name one definition',
      });
    else seen.set(key, source + what);
  };
  // The same object exported twice (e.g. default + named) is fine; two definitions are not.
  const uniq = <T extends { def: object }>(xs: T[]) => xs.filter((x, i) => xs.findIndex((y) => y.def === x.def) === i);
  for (const s of uniq(loaded.slos)) claim(`SLO ${s.def.id}`, s.source, 'id');
  for (const s of uniq(loaded.slos)) claim(`alert ${s.def.alerting.name}`, s.source, 'alerting.name');
  for (const a of uniq(loaded.alerts)) claim(`alert ${a.def.name}`, a.source, 'name');
  return problems;
}

export async function runBuild(options: BuildOptions): Promise<BuildReport> {
  const root = path.resolve(options.projectRoot);
  const outDir = path.resolve(root, options.outDir ?? 'out');
  const loaded = await loadAlertDefinitions(root);
  const slos = dedupe(loaded.slos).sort((a, b) => cmp(a.def.id, b.def.id));
  const alerts = dedupe(loaded.alerts).sort((a, b) => cmp(a.def.name, b.def.name));

  const runbooks = await readRunbooks(root);
  const links: AlertRunbookLink[] = [
    ...slos.map((s) => ({ alert: s.def.alerting.name, runbook: s.def.alerting.runbook, source: s.source })),
    ...alerts.map((a) => ({ alert: a.def.name, runbook: a.def.runbook, source: a.source })),
  ];
  const problems = [
    ...loaded.problems,
    ...duplicates(loaded),
    ...runbooks.flatMap((r) => checkRunbookText(r.path, r.text)),
    ...checkRunbookLinks(
      links,
      runbooks.map((r) => r.path),
    ),
  ];
  const report: BuildReport = {
    ok: problems.length === 0,
    outDir,
    files: [],
    slos: slos.map((s) => s.def.id),
    alerts: [...new Set(links.map((l) => l.alert))].sort(cmp),
    problems,
  };
  if (!report.ok) return report;

  const base = options.runbookBaseUrl?.replace(/\/$/, '');
  const opts: RuleOptions = { runbookUrl: (p) => (base ? `${base}/${p}` : p) };
  const services = [...new Set([...slos.map((s) => s.def.service), ...alerts.map((a) => a.def.service)])].sort(cmp);
  const alertFiles: GeneratedFile[] = [];
  const ruleFiles: RuleFile[] = [];
  const dashboards: BuiltDashboard[] = [];
  for (const service of services) {
    const ss = slos.filter((s) => s.def.service === service).map((s) => s.def);
    const as = alerts.filter((a) => a.def.service === service).map((a) => a.def);
    const rules = serviceRuleFile(ss, as, opts);
    ruleFiles.push(rules);
    alertFiles.push({ path: `${service}.yaml`, text: ruleFileYaml(rules) });
    for (const s of ss) for (const f of sloPromtoolTests(s, opts)) alertFiles.push(f);
    for (const f of alertPromtoolTests(service, as, `../${service}.yaml`, opts)) alertFiles.push(f);
    if (ss.length > 0) {
      const d = sloDashboard(service, ss);
      dashboards.push({ path: d.file, text: d.json, source: `(generated) dashboards/${d.file}` });
    }
  }
  const drill = drillDashboard();
  dashboards.push({ path: drill.file, text: drill.json, source: `(generated) dashboards/${drill.file}` });
  const team = await buildTeamDashboards(root);
  for (const d of team.dashboards) dashboards.push(d);
  // Nothing ships unchecked: a dashboard problem writes no file at all, like a runbook problem.
  const dashboardProblems = [...team.problems, ...(await checkDashboards(dashboards, metricCatalogue(ruleFiles)))];
  if (dashboardProblems.length) {
    report.ok = false;
    report.problems = dashboardProblems;
    return report;
  }

  // Replace only what build owns (out/alerts, out/dashboards) so stale files do not linger.
  await writeTree(path.join(outDir, 'alerts'), alertFiles);
  await writeTree(path.join(outDir, 'dashboards'), dashboards);
  // Every load profile as a k6 script and a k6-operator TestRun (load/k6-export.ts, load/k6-operator.ts).
  const { loadProjectProfiles } = await import('../load/profiles.ts');
  const { buildK6Artifacts } = await import('../load/k6-operator.ts');
  const k6Files = await buildK6Artifacts(await loadProjectProfiles(options.projectRoot), outDir);
  report.files = [...alertFiles.map((f) => `alerts/${f.path}`), ...dashboards.map((f) => `dashboards/${f.path}`), ...k6Files].sort(cmp);
  return report;
}

function dedupe<T extends { def: object }>(xs: T[]): T[] {
  return xs.filter((x, i) => xs.findIndex((y) => y.def === x.def) === i);
}

async function writeTree(dir: string, files: GeneratedFile[]): Promise<void> {
  // Each file replaced atomically, then what build no longer makes removed: never an empty or
  // half-written tree, so a stage starting now (or a second build at once, as when the
  // scheduler starts two drills) reads either the old rules or the new ones.
  const wanted = new Set(files.map((f) => path.join(dir, f.path)));
  for (const f of files) {
    const target = path.join(dir, f.path);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, f.text);
    await rename(tmp, target);
  }
  for (const existing of await listFiles(dir)) if (!wanted.has(existing) && !/\.tmp-\d+-[0-9a-f]+$/.test(existing)) await rm(existing, { force: true });
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) for (const f of await listFiles(p)) out.push(f);
    else out.push(p);
  }
  return out;
}
