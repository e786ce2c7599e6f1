// Every fault provider the harness has, and the choice of one per fault and environment.
import type { EnvironmentConfig, FaultSpec } from '../define/types.ts';
import type { FaultProvider } from '../engine/types.ts';
import { UsageError } from '../errors.ts';
import { containerProcessProvider } from './containers/process.ts';
import { containerProxyProvider } from './containers/proxy.ts';
import { containerStressProvider } from './containers/stress.ts';
import { customProvider } from './custom.ts';
import { databaseOutageProvider, migrationProvider } from './local/postgres.ts';
import { processProvider } from './local/process.ts';
import { proxyProvider } from './local/proxy.ts';
import { hostProxyProvider } from './local/host-proxy.ts';
import { stressProvider } from './local/stress.ts';
import { pitrProvider } from './local/pitr.ts';

export const localProviders: readonly FaultProvider[] = [
  processProvider,
  proxyProvider,
  // hosts: network faults and dependency outages through the proxy the harness runs in front of a target.
  hostProxyProvider,
  databaseOutageProvider,
  migrationProvider,
  stressProvider,
  pitrProvider,
  customProvider,
];

/** The containers environment's: kill/pause through the engine's processes, network faults through the harness's proxies. */
export const containerProviders: readonly FaultProvider[] = [containerProcessProvider, containerProxyProvider, containerStressProvider];

export class ProviderRegistry {
  private readonly byName = new Map<string, FaultProvider>();

  constructor(providers: readonly FaultProvider[]) {
    for (const p of providers) this.byName.set(p.name, p);
  }

  get(name: string): FaultProvider | undefined {
    return this.byName.get(name);
  }

  /** The provider for a fault in an environment; an error names the fault kind and environment kind when none fits. */
  /** The first provider that can inject this fault here, if any. */
  find(fault: FaultSpec, environment: EnvironmentConfig): FaultProvider | undefined {
    for (const p of this.byName.values()) if (p.supports(fault, environment)) return p;
    return undefined;
  }

  choose(fault: FaultSpec, environment: EnvironmentConfig): FaultProvider {
    const p = this.find(fault, environment);
    if (!p) throw new UsageError(`no provider can inject a '${fault.kind}' fault in a '${environment.kind}' environment`);
    return p;
  }

  all(): FaultProvider[] {
    return [...this.byName.values()];
  }
}
