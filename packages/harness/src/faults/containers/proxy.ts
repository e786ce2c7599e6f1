// Network faults in a containers environment, through the harness's own TCP fault proxies:
// one between the harness and each service (probes, load) and one on every dependsOn edge
// (container-to-container traffic goes to the dependency through it, on loopback).
import type { EnvironmentConfig, NetworkFault } from '../../define/types.ts';
import type { FaultProvider, RevertRecord } from '../../engine/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { liveProxyActions, type LiveProxyData } from '../live-proxies.ts';
import { proxyEffectsOf } from '../local/proxy.ts';
import { requireContainerTarget } from './targets.ts';

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
      data: { proxies, effects: proxyEffectsOf(network) } satisfies LiveProxyData,
      deadline: Date.now() + network.duration,
      description: `clear the harness's fault proxies ${proxies.join(', ')}`,
    };
  },

  ...liveProxyActions,
};
