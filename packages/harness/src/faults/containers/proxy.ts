// Network faults in a containers environment, through the harness's own TCP fault proxies:
// one between the harness and each service (probes, load) and one on every dependsOn edge
// (container-to-container traffic goes to the dependency through it, on loopback).
import type { EnvironmentConfig, NetworkFault } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, RevertRecord } from '../../engine/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { proxyEffectsOf } from '../local/proxy.ts';
import type { ProxyEffects } from '@drillbook/stage';
import { liveProxies, requireContainerTarget } from './targets.ts';

type Data = { proxies: string[]; effects: ProxyEffects };

/** A dependency given: the target's traffic to it; none: all traffic into the target. */
function proxiesFor(fault: NetworkFault, resolve: (name: string) => unknown): string[] {
  const target = requireContainerTarget(resolve, fault.target);
  if (fault.dependency === undefined) return target.inbound;
  const keys = target.outbound[fault.dependency];
  if (!keys?.length)
    throw new EnvironmentError(
      `service '${target.name}' does not depend on '${fault.dependency}': add it to the service's dependsOn (and reach it through {address:…}) so its traffic passes the harness's proxy`,
    );
  return keys;
}

export const containerProxyProvider: FaultProvider = {
  name: 'container-proxy',

  supports(fault, env: EnvironmentConfig) {
    return env.kind === 'containers' && fault.kind === 'network';
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const network = fault as NetworkFault;
    const proxies = proxiesFor(network, ctx.resolveTarget);
    return {
      faultId,
      provider: 'container-proxy',
      data: { proxies, effects: proxyEffectsOf(network) } satisfies Data,
      deadline: Date.now() + network.duration,
      description: `clear the harness's fault proxies ${proxies.join(', ')}`,
    };
  },

  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const { proxies, effects } = record.data as Data;
    const missing = proxies.filter((k) => !liveProxies.has(k));
    if (missing.length) throw new EnvironmentError(`the fault proxies ${missing.join(', ')} are not running in this harness`);
    for (const k of proxies) liveProxies.get(k)!.set(effects);
    return { tInject: ctx.clock.now(), targets: proxies.map((k) => `proxy ${k.slice(k.indexOf('/') + 1)}`) };
  },

  async revert(record) {
    // A proxy that is not here went with the process that ran it (a crash): nothing is left to clear.
    for (const k of (record.data as Data).proxies) liveProxies.get(k)?.clear();
  },

  async status(record): Promise<FaultStatus> {
    const states = (record.data as Data).proxies.map((k) => liveProxies.get(k)?.current ?? {});
    const active = states.some((s) => s.delayMs || s.loss || s.reset || s.blackhole || s.bandwidth);
    return { active, detail: JSON.stringify(states) };
  },
};
