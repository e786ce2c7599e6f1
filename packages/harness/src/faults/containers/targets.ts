// What a target name means in a containers environment: a service's replicas (containers by
// id) and the harness's fault proxies in front of it. The environment builds these; providers
// only read them. The proxies live in this process, so they are found by key in `liveProxies`
// (faults/live-proxies.ts).

export interface ContainerReplica {
  /** Container name, e.g. drillbook-4f2a-api-1. */
  name: string;
  id: string;
  replica: number;
  /** Loopback port of each named port of this replica. */
  ports: Record<string, number>;
}

export interface ContainerTarget {
  kind: 'container-service';
  name: string;
  replicas: ContainerReplica[];
  /** Keys (in liveProxies) of the proxies carrying traffic into this service: the harness's own and each dependent's. */
  inbound: string[];
  /** Keys of the proxies carrying this service's traffic to each dependency, by dependency name. */
  outbound: Record<string, string[]>;
}

/** The key of the proxy carrying `from`'s traffic to `to`'s port (from = 'harness' for probes and load). */
export const proxyKey = (session: string, from: string, to: string, port: string) => `${session}/${from}->${to}.${port}`;

export function isContainerTarget(value: unknown): value is ContainerTarget {
  return typeof value === 'object' && value !== null && (value as { kind?: string }).kind === 'container-service';
}

export function requireContainerTarget(resolve: (name: string) => unknown, name: string): ContainerTarget {
  const t = resolve(name);
  if (!isContainerTarget(t)) throw new Error(`target '${name}' is not a service of a containers environment`);
  return t;
}
