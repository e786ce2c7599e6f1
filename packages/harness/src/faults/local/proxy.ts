// Network faults through the stage's TCP fault proxies: latency with jitter, loss,
// reset, blackhole, bandwidth. The proxy sits between the balancer and each replica
// (target `api`) and between the replicas and PostgreSQL (dependency or target `db`).
import type { EnvironmentConfig, FaultMode, NetworkFault } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, ProviderContext, RevertRecord } from '../../engine/types.ts';
import { selectTargets } from './select.ts';
import { stageControl, StageUnreachable, type ProxyEffects } from './stage-control.ts';
import { requireLocalTarget } from './targets.ts';

export function proxyEffectsOf(fault: NetworkFault): ProxyEffects {
  const effects: ProxyEffects = { direction: fault.direction };
  if (fault.delay !== undefined) effects.delayMs = fault.delay;
  if (fault.jitter !== undefined) effects.jitterMs = fault.jitter;
  if (fault.loss !== undefined) effects.loss = fault.loss;
  if (fault.reset) effects.reset = true;
  if (fault.blackhole) effects.blackhole = true;
  if (fault.bandwidth !== undefined) effects.bandwidth = fault.bandwidth;
  return effects;
}

async function proxiesFor(fault: NetworkFault, ctx: ProviderContext): Promise<{ controlUrl: string; proxies: string[] }> {
  const target = requireLocalTarget(ctx.resolveTarget, fault.target);
  if (target.kind === 'host')
    throw new Error(`network faults on host target '${target.name}' need the stage's proxy; put one in front of it or use a kubernetes environment`);
  const dependency = fault.dependency ? requireLocalTarget(ctx.resolveTarget, fault.dependency) : undefined;
  if (target.kind === 'stage-database' || dependency?.kind === 'stage-database') return { controlUrl: target.controlUrl, proxies: ['db'] };
  const replicas = await stageControl.replicas(target.controlUrl);
  const chosen = selectTargets(
    replicas.map((r) => r.name),
    fault.selection as FaultMode,
  );
  return { controlUrl: target.controlUrl, proxies: chosen };
}

export const proxyProvider: FaultProvider = {
  name: 'local-proxy',

  supports(fault, env: EnvironmentConfig) {
    return env.kind === 'local' && fault.kind === 'network';
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const network = fault as NetworkFault;
    const { controlUrl, proxies } = await proxiesFor(network, ctx);
    return {
      faultId,
      provider: 'local-proxy',
      data: { controlUrl, proxies, effects: proxyEffectsOf(network) },
      deadline: Date.now() + network.duration,
      description: `clear fault proxy ${proxies.join(', ')} at ${controlUrl}`,
    };
  },

  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const { controlUrl, proxies, effects } = record.data as { controlUrl: string; proxies: string[]; effects: ProxyEffects };
    for (const p of proxies) await stageControl.setProxy(controlUrl, p, effects);
    // Confirmed when the proxy reports the effects back.
    for (const p of proxies) {
      const now = await stageControl.getProxy(controlUrl, p);
      if (effects.delayMs !== undefined && now.delayMs !== effects.delayMs) throw new Error(`proxy ${p} did not take the delay`);
    }
    return { tInject: ctx.clock.now(), targets: proxies.map((p) => `proxy ${p}`) };
  },

  async revert(record, ctx) {
    const { controlUrl, proxies } = record.data as { controlUrl: string; proxies: string[] };
    for (const p of proxies) {
      try {
        await stageControl.clearProxy(controlUrl, p);
      } catch (err) {
        if (err instanceof StageUnreachable) {
          ctx.log('warn', `${err.message}; the stage is gone, and its proxies with it`);
          return;
        }
        throw err;
      }
    }
  },

  async status(record): Promise<FaultStatus> {
    const { controlUrl, proxies } = record.data as { controlUrl: string; proxies: string[] };
    const states = await Promise.all(proxies.map((p) => stageControl.getProxy(controlUrl, p)));
    const active = states.some((s) => s.delayMs || s.loss || s.reset || s.blackhole || s.bandwidth);
    return { active, detail: JSON.stringify(states) };
  },
};
