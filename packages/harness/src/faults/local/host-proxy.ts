// Network faults on a team's hosts, through the TCP fault proxy the harness runs in front of a
// target (`targets.<t>.proxy`; session/environments/hosts.ts starts it). The proxy is the
// stage's FaultProxy kept in this process (faults/live-proxies.ts), as the containers
// environment keeps its own: inject, revert and status are the live proxies' own.
// A dependency outage is the proxy resetting every connection, open and new, both ways.
import type { DependencyOutageFault, DrillPlan, EnvironmentConfig, FaultSpec, NetworkFault } from '../../define/types.ts';
import type { DefinitionIssue } from '../../define/errors.ts';
import type { FaultProvider, RevertRecord } from '../../engine/types.ts';
import { EnvironmentError } from '../../errors.ts';
import type { ProxyEffects } from '@drillbook/stage';
import { liveProxyActions, type LiveProxyData } from '../live-proxies.ts';
import { proxyEffectsOf } from './proxy.ts';
import { requireLocalTarget } from './targets.ts';

type HostsConfig = Extract<EnvironmentConfig, { kind: 'hosts' }>;
type ProxiedFault = NetworkFault | DependencyOutageFault;

const isProxied = (f: FaultSpec): f is ProxiedFault => f.kind === 'network' || f.kind === 'dependency-outage';

/** The target whose proxy carries the fault: a network fault's dependency if it names one (the target's traffic to it), else the target. */
export const proxiedTarget = (f: ProxiedFault): string => (f.kind === 'network' && f.dependency !== undefined ? f.dependency : f.target);

const effectsOf = (f: ProxiedFault): ProxyEffects => (f.kind === 'network' ? proxyEffectsOf(f) : { reset: true, direction: 'both' });

const proxyFix = (envName: string, target: string) =>
  `add proxy: { listen: '127.0.0.1:<free port>', upstream: '<host:port of the real service>' } to environments.${envName}.targets.${target} in drillbook.config.ts, and point the clients at listen (docs/environments.md)`;

/** Pure: each fault of the plan that needs a proxy the hosts environment does not give, as a definition issue. */
export function hostProxyIssues(plan: DrillPlan, envName: string, env: EnvironmentConfig): DefinitionIssue[] {
  if (env.kind !== 'hosts') return [];
  const issues: DefinitionIssue[] = [];
  plan.phases.forEach((phase, i) => {
    const f = phase.fault;
    if (!f || !isProxied(f)) return;
    const name = proxiedTarget(f);
    const field = f.kind === 'network' && f.dependency !== undefined ? 'dependency' : 'target';
    const target = (env as HostsConfig).targets[name];
    if (!target)
      issues.push({
        path: `phases[${i}].fault.${field}`,
        problem: `environment '${envName}' has no target '${name}' (it has ${Object.keys((env as HostsConfig).targets).join(', ')})`,
        fix: `name one of its targets, or add '${name}' to environments.${envName}.targets`,
      });
    else if (!target.proxy)
      issues.push({
        path: `phases[${i}].fault`,
        problem: `a ${f.kind} fault on hosts target '${name}' acts through the harness's fault proxy, and environments.${envName}.targets.${name}.proxy is not set${target.address ? ' (address alone puts no proxy in front of it)' : ''}`,
        fix: proxyFix(envName, name),
      });
  });
  return issues;
}

export const hostProxyProvider: FaultProvider = {
  name: 'host-proxy',

  supports(fault, env: EnvironmentConfig) {
    return env.kind === 'hosts' && isProxied(fault);
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const f = fault as ProxiedFault;
    const target = requireLocalTarget(ctx.resolveTarget, proxiedTarget(f));
    if (target.kind !== 'host' || !target.proxyKey || !target.target.proxy)
      throw new EnvironmentError(
        `target '${target.name}' has no fault proxy running in this harness: give it targets.${target.name}.proxy in the hosts environment`,
      );
    const { listen, upstream } = target.target.proxy;
    return {
      faultId,
      provider: 'host-proxy',
      data: { proxies: [target.proxyKey], effects: effectsOf(f) } satisfies LiveProxyData,
      deadline: Date.now() + f.duration,
      description: `clear the harness's fault proxy ${listen} → ${upstream} (a crashed harness took it with it)`,
    };
  },

  ...liveProxyActions,
};

/** Pure: what a dry run shows for a fault that acts through a hosts target's proxy, or undefined for other faults. */
export function hostProxyDetail(fault: FaultSpec, env: HostsConfig): string[] | undefined {
  if (!isProxied(fault)) return undefined;
  const proxy = env.targets[proxiedTarget(fault)]?.proxy;
  if (!proxy) return undefined;
  const how = fault.kind === 'dependency-outage' ? ': every connection reset, both ways' : '';
  return [`through the harness's fault proxy ${proxy.listen} → ${proxy.upstream} (started with the run)${how}`];
}
