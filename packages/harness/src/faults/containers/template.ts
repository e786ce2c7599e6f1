// Pure: a container's environment with its placeholders filled in for one replica, and the
// order services start in (dependencies first). The placeholders are declared, with their
// checks, in define/config.ts (CONTAINER_PLACEHOLDER).
import { CONTAINER_PLACEHOLDER, type ContainerService } from '../../define/config.ts';

export interface TemplateValues {
  /** This replica's loopback port for each of its named ports. */
  ports: Record<string, number>;
  /** host:port at which this service reaches `service.port` of a dependency (its fault proxy). */
  addresses: Record<string, string>;
  otlp: { url: string; authorization: string };
}

export function fillEnvironment(env: Record<string, string>, values: TemplateValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    out[key] = value.replace(CONTAINER_PLACEHOLDER, (whole, kind: string, arg: string) => {
      const filled = kind === 'port' ? values.ports[arg] : kind === 'address' ? values.addresses[arg] : values.otlp[arg as 'url' | 'authorization'];
      // The config's checks refuse unknown names; one that slips through stays visible rather than becoming ''.
      return filled === undefined ? whole : String(filled);
    });
  return out;
}

/** Service names with every dependency before its dependents (the config refuses cycles). */
export function startOrder(services: Record<string, Pick<ContainerService, 'dependsOn'>>): string[] {
  const order: string[] = [];
  const visit = (name: string) => {
    if (order.includes(name) || !services[name]) return;
    for (const dep of services[name].dependsOn ?? []) visit(dep);
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  return order;
}
