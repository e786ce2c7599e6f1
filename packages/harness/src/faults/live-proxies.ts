// The TCP fault proxies the harness itself runs, in this process, for the environments open in it:
// the containers environment's (in front of each service and on every dependsOn edge) and the hosts
// environment's (`targets.<t>.proxy`). Environments start them here; providers act on them by key
// with the one inject/revert/status below. A crashed process takes its proxies with it, so a revert
// that finds no proxy has nothing left to clear.
import type { FaultProxy, ProxyEffects } from '@drillbook/stage';
import type { FaultProvider, FaultStatus, InjectedFault } from '../engine/types.ts';
import { EnvironmentError } from '../errors.ts';

/** Proxies of the environments open in this process, by key. */
export const liveProxies = new Map<string, FaultProxy>();

/** Starts `proxy` and keeps it under `key`; returns what stops and forgets it. */
export async function startLiveProxy(key: string, proxy: FaultProxy): Promise<() => Promise<void>> {
  await proxy.start();
  liveProxies.set(key, proxy);
  return async () => {
    liveProxies.delete(key);
    await proxy.stop();
  };
}

/** A live-proxy fault's revert record data: which proxies, and what they do while it is in. */
export type LiveProxyData = { proxies: string[]; effects: ProxyEffects };

/** Inject, revert and status of a fault carried by live proxies, whichever environment started them. */
export const liveProxyActions: Pick<FaultProvider, 'inject' | 'revert' | 'status'> = {
  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const { proxies, effects } = record.data as LiveProxyData;
    const missing = proxies.filter((k) => !liveProxies.has(k));
    if (missing.length) throw new EnvironmentError(`the fault proxies ${missing.join(', ')} are not running in this harness`);
    for (const k of proxies) liveProxies.get(k)!.set(effects);
    return { tInject: ctx.clock.now(), targets: proxies.map((k) => `proxy ${k.slice(k.indexOf('/') + 1)}`) };
  },

  async revert(record) {
    for (const k of (record.data as LiveProxyData).proxies) liveProxies.get(k)?.clear();
  },

  async status(record): Promise<FaultStatus> {
    const states = (record.data as LiveProxyData).proxies.map((k) => liveProxies.get(k)?.current ?? {});
    const active = states.some((s) => s.delayMs || s.loss || s.reset || s.blackhole || s.bandwidth);
    return { active, detail: JSON.stringify(states) };
  },
};
