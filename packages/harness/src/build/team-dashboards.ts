// A team's dashboards/*.ts: import each file, keep the `defineDashboard` values it exports, call
// their builders, and check every dashboard (the team's and the generated ones) before any is
// written. A file that fails to import or a builder that throws is a problem naming the file.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { importTypeScript } from '../project/ts-import.ts';
import { isDashboardDefinition, renderDashboard, type DashboardDefinition } from '../define/dashboard.ts';
import { definitionIssuesOf } from '../errors.ts';
import { checkDashboard, dashboardExpressions } from './dashboard-checks.ts';
import { unparsable } from './promql-parse.ts';
import type { GeneratedFile } from './promtool-tests.ts';
import type { RunbookProblem } from './runbooks.ts';

/** A dashboard ready to write, with the file its problems are reported against. */
export interface BuiltDashboard extends GeneratedFile {
  source: string;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Imports dashboards/*.ts and renders every dashboard they define. */
export async function buildTeamDashboards(projectRoot: string): Promise<{ dashboards: BuiltDashboard[]; problems: RunbookProblem[] }> {
  const dir = path.join(projectRoot, 'dashboards');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')).sort();
  const dashboards: BuiltDashboard[] = [];
  const problems: RunbookProblem[] = [];
  for (const n of names) {
    const source = `dashboards/${n}`;
    let mod: Record<string, unknown>;
    try {
      mod = (await importTypeScript(pathToFileURL(path.join(dir, n)).href, import.meta.url)) as Record<string, unknown>;
    } catch (e) {
      const issues = definitionIssuesOf(e);
      if (issues) for (const i of issues) problems.push({ ...i, file: source });
      else
        problems.push({
          file: source,
          path: '(import)',
          problem: `the file failed to load: ${message(e)}`,
          fix: 'fix the error; `npx tsx` on the file shows the stack',
        });
      continue;
    }
    const defs = [
      ...new Set(
        Object.keys(mod)
          .sort()
          .map((k) => mod[k])
          .filter(isDashboardDefinition),
      ),
    ] as DashboardDefinition[];
    if (defs.length === 0)
      problems.push({
        file: source,
        path: '(exports)',
        problem: 'exports no defineDashboard(…) value',
        fix: 'export const dashboard = defineDashboard({ uid, build })',
      });
    for (const def of defs) {
      try {
        dashboards.push({ path: def.file, text: renderDashboard(def), source });
      } catch (e) {
        const issues = definitionIssuesOf(e);
        if (issues) for (const i of issues) problems.push({ ...i, file: source, path: `${def.uid}.${i.path}` });
        else
          problems.push({
            file: source,
            path: `${def.uid}.build`,
            problem: `the dashboard builder threw: ${message(e)}`,
            fix: 'fix the builder so it returns a DashboardBuilder without throwing',
          });
      }
    }
  }
  return { dashboards, problems };
}

/** Every check on every dashboard: structure and metric names (pure), then promtool's parse of every expression. */
export async function checkDashboards(dashboards: readonly BuiltDashboard[], known: ReadonlySet<string>): Promise<RunbookProblem[]> {
  const problems: RunbookProblem[] = [];
  const owner = new Map<string, string>();
  for (const d of dashboards) {
    const { uid, title } = dashboardExpressions(d.text);
    const prev = owner.get(d.path) ?? owner.get(`uid:${uid}`);
    if (prev)
      problems.push({
        file: d.source,
        path: `dashboard "${title}"`,
        problem: `uid '${uid}' (file ${d.path}) is also ${prev}'s`,
        fix: 'give each dashboard its own uid',
      });
    owner.set(d.path, d.source).set(`uid:${uid}`, d.source);
    for (const p of checkDashboard(d.source, d.text, known)) problems.push(p);
  }
  // One promtool run for every expression of every dashboard.
  const all = dashboards.flatMap((d) => {
    const { title, expressions } = dashboardExpressions(d.text, currentValues(d.text));
    return expressions.map((e) => ({ ...e, title, source: d.source }));
  });
  for (const f of await unparsable(all.map((e) => e.concrete))) {
    const e = all[f.index]!;
    problems.push({
      file: e.source,
      path: `dashboard "${e.title}" ${e.where}`,
      problem: `${f.error} (expression: ${e.expr})`,
      fix: 'correct the PromQL; promtool check rules parses it the way Prometheus will',
    });
  }
  return problems;
}

/** A variable's current value, when the dashboard sets a single one (else `.*` is substituted). */
function currentValues(json: string): Record<string, string> {
  const d = JSON.parse(json) as { templating?: { list?: Array<{ name?: string; type?: string; current?: { value?: unknown } }> } };
  const out: Record<string, string> = {};
  for (const v of d.templating?.list ?? [])
    if (v.name && v.type !== 'datasource' && typeof v.current?.value === 'string' && v.current.value !== '$__all') out[v.name] = v.current.value;
  return out;
}
