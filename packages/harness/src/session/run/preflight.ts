// Step 2 of a run (also on --dry-run where the environment is reachable): is the environment fit
// to tell the truth? Prometheus answers and has every alert the drill expects loaded, Alertmanager
// answers, the probed targets answer, pid files name live processes. Any failure is an
// EnvironmentError (exit 4) naming what and where — never a drill that "failed" for the wrong reason.
import { existsSync, readFileSync } from 'node:fs';
import type { DrillPlan, EnvironmentConfig } from '../../define/types.ts';
import { EnvironmentError } from '../../errors.ts';
import type { PrometheusClient } from '../../observe/prometheus.ts';
import { reachable } from '../../observe/reachable.ts';

export interface PreflightTargets {
  prometheus?: PrometheusClient | undefined;
  alertmanagerUrl?: string | undefined;
  /** Headers Alertmanager asks for (basic auth, a forwarder's secret). */
  alertmanagerHeaders?: Record<string, string> | undefined;
  /** Base URL of an HTTP target, or undefined when the environment gives none. */
  targetUrl: (target: string) => string | undefined;
  /** The environment's own checks for this plan (Kubernetes: targets resolve to ready pods). */
  environmentChecks?: ((plan: DrillPlan) => Promise<{ checked: string[]; problems: string[] }>) | undefined;
}

export interface PreflightResult {
  checked: string[];
}

const TIMEOUT_MS = 5_000;

export { reachable };

/** Alert names the plan expects to fire, with the phase that expects each. */
export function expectedAlerts(plan: DrillPlan): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of plan.phases) for (const a of p.expect?.alerts ?? []) if (!out.has(a)) out.set(a, p.name);
  return out;
}

export async function preflight(plan: DrillPlan, envName: string, envConfig: EnvironmentConfig, on: PreflightTargets): Promise<PreflightResult> {
  const problems: string[] = [];
  const checked: string[] = [];
  const expected = expectedAlerts(plan);

  if (on.prometheus) {
    try {
      const groups = await on.prometheus.rules(AbortSignal.timeout(TIMEOUT_MS));
      const loaded = new Set(groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting').map((r) => r.name)));
      for (const [alert, phase] of expected)
        if (!loaded.has(alert))
          problems.push(
            `phase '${phase}' expects alert '${alert}', but Prometheus at ${on.prometheus.baseUrl} has no such alerting rule loaded (load the rule, or fix the name)`,
          );
      checked.push(`Prometheus ${on.prometheus.baseUrl}: ${loaded.size} alerting rules, ${expected.size} expected present`);
      // An expected alert already firing cannot be seen to fire: its TTD would be a leftover of the past
      // (a long-lived stage after the last drill's outage), so the run waits for a clean baseline.
      const firing = new Set((await on.prometheus.alerts(AbortSignal.timeout(TIMEOUT_MS))).filter((a) => a.state === 'firing').map((a) => a.labels.alertname));
      for (const [alert, phase] of expected)
        if (firing.has(alert))
          problems.push(
            `phase '${phase}' expects alert '${alert}' to fire, but it is firing already, before any fault: its TTD could not be measured (wait until it resolves, e.g. after an earlier drill's outage, and run again)`,
          );
    } catch (err) {
      problems.push(`Prometheus at ${on.prometheus.baseUrl} does not answer: ${(err as Error).message}`);
    }
  } else if (expected.size) {
    problems.push(
      `the drill expects alerts (${[...expected.keys()].join(', ')}) but environment '${envName}' names no Prometheus to watch them (set 'prometheus' in drillbook.config.ts)`,
    );
  }

  if (on.alertmanagerUrl) {
    const why = await reachable(new URL('/-/healthy', on.alertmanagerUrl).href, on.alertmanagerHeaders ? { headers: on.alertmanagerHeaders } : {});
    if (why) problems.push(`Alertmanager at ${on.alertmanagerUrl} does not answer: ${why}`);
    else checked.push(`Alertmanager ${on.alertmanagerUrl}`);
  }

  const httpTargets = new Set(plan.steadyState.flatMap((p) => (p.kind === 'http' ? [p.target] : [])));
  for (const target of httpTargets) {
    const url = on.targetUrl(target);
    if (!url) continue;
    const why = await reachable(url);
    if (why) problems.push(`target '${target}' at ${url} does not answer: ${why}`);
    else checked.push(`target ${target} ${url}`);
  }

  if (envConfig.kind === 'hosts') {
    const faulted = new Set(plan.phases.flatMap((p) => (p.fault && 'target' in p.fault && typeof p.fault.target === 'string' ? [p.fault.target] : [])));
    for (const name of faulted) {
      const pidFile = envConfig.targets[name]?.pidFile;
      if (!pidFile) continue;
      if (!existsSync(pidFile)) {
        problems.push(`target '${name}': pid file ${pidFile} does not exist (is the process running?)`);
        continue;
      }
      const pid = Number(readFileSync(pidFile, 'utf8').slice(0, 32).trim());
      if (!Number.isInteger(pid) || pid <= 1 || !existsSync(`/proc/${pid}`))
        problems.push(`target '${name}': pid file ${pidFile} names no live process (${pid || 'not a pid'})`);
      else checked.push(`target ${name} pid ${pid}`);
    }
  }

  if (on.environmentChecks) {
    const own = await on.environmentChecks(plan);
    for (const c of own.checked) checked.push(c);
    for (const p of own.problems) problems.push(p);
  }

  if (problems.length) throw new EnvironmentError(`environment '${envName}' is not ready for this drill:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { checked };
}
