// A team's own Grafana dashboard, written with the Grafana Foundation SDK's builders in
// dashboards/*.ts. `defineDashboard` only registers the builder and its file name: the SDK
// stays the vocabulary, and `drill build` calls the builder (catching a throw to name the
// file), checks every query and writes out/dashboards/<uid>.json. No I/O here.
//
// Drillbook's own panels are exported as functions (`panels`) so a team's dashboard can show
// the same SLO burn, error budget, fault annotations and drill results as the generated ones.
import { DefinitionError, type DefinitionIssue } from './errors.ts';
import {
  DS,
  dashboardJson,
  datasourceVariable,
  drillResultsPanel,
  errorBudgetPanel,
  errorRatioThresholds,
  faultAnnotation,
  latencyThresholds,
  q,
  sloBurnPanel,
} from '../build/dashboards.ts';

/** What the SDK's DashboardBuilder gives: anything with `build()` returning the dashboard model. */
export interface DashboardBuilderLike {
  build(): { uid?: string; title?: string; panels?: unknown[] };
}

export interface DashboardInput {
  /** Grafana's dashboard uid (1–40 of `A-Za-z0-9_-`); also the file name under out/dashboards. */
  uid: string;
  /** Returns the SDK builder; called by `drill build`, so a throw is reported with the file's name. */
  build: () => DashboardBuilderLike;
}

export interface DashboardDefinition {
  readonly kind: 'dashboard';
  readonly uid: string;
  readonly file: string;
  readonly build: () => DashboardBuilderLike;
}

const UID = /^[A-Za-z0-9_-]{1,40}$/;

export function defineDashboard(input: DashboardInput, file?: string): DashboardDefinition {
  const issues: DefinitionIssue[] = [];
  const uid = (input as Partial<DashboardInput> | undefined)?.uid;
  if (typeof uid !== 'string' || !UID.test(uid))
    issues.push({
      path: 'uid',
      problem: `expected 1–40 letters, digits, '-' or '_', got ${JSON.stringify(uid)}`,
      fix: "give the dashboard a uid like 'graph-api-operations'",
    });
  if (typeof input?.build !== 'function')
    issues.push({
      path: 'build',
      problem: `expected a function returning a DashboardBuilder, got ${typeof input?.build}`,
      fix: "write build: () => new DashboardBuilder('Title')…",
    });
  if (issues.length) throw new DefinitionError(file, issues);
  return Object.freeze({ kind: 'dashboard', uid: uid!, file: `${uid}.json`, build: input.build });
}

export function isDashboardDefinition(v: unknown): v is DashboardDefinition {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'dashboard' && typeof (v as { build?: unknown }).build === 'function';
}

/** Drillbook's panels, to reuse in a team's dashboard (all query the `$datasource` variable). */
export const panels = Object.freeze({
  /** `{ type: 'prometheus', uid: '${datasource}' }`. */
  datasource: DS,
  datasourceVariable,
  query: q,
  sloBurn: sloBurnPanel,
  errorBudget: errorBudgetPanel,
  faultAnnotation,
  drillResults: drillResultsPanel,
  /** An SLO's error budget (orange) and fastest page burn (red) as panel thresholds. */
  errorRatioThresholds,
  /** A latency SLO's threshold as a panel threshold, in 's' or 'ms'. */
  latencyThresholds,
});

/** The JSON `drill build` writes for a definition (ids in build order). Throws what the builder throws. */
export function renderDashboard(def: DashboardDefinition): string {
  const built: { uid?: string; panels?: unknown[] } = def.build().build();
  if (built.uid !== undefined && built.uid !== def.uid)
    throw new DefinitionError(undefined, [
      {
        path: 'uid',
        problem: `defineDashboard says '${def.uid}' but the builder sets uid '${built.uid}'`,
        fix: 'use one uid (or leave .uid() off the builder)',
      },
    ]);
  return dashboardJson({ ...built, uid: def.uid } as { panels?: unknown[] });
}
