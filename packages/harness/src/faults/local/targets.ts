// What a target name means in a local or hosts environment. The session builds the
// resolver from the running stage (or the hosts config); providers only read it.
import type { HostTarget } from '../../define/types.ts';

export type LocalTarget =
  | { kind: 'stage-service'; name: string; controlUrl: string; url: string; /** Bearer token of the control API. */ controlToken?: string }
  | {
      kind: 'stage-database';
      name: string;
      controlUrl: string;
      /** Bearer token of the control API. */
      controlToken?: string;
      url: string;
      /** Where the stage keeps the cluster, its WAL archive and binaries; a DR drill's base backup goes to backupDir. */
      paths?: { dataDir: string; walArchive: string; pgBin: string; backupDir: string };
    }
  | {
      kind: 'host';
      name: string;
      target: HostTarget;
      /** Key (in liveProxies) of the harness's fault proxy in front of it, while the environment is open. */
      proxyKey?: string;
    };

export function isLocalTarget(value: unknown): value is LocalTarget {
  return typeof value === 'object' && value !== null && ['stage-service', 'stage-database', 'host'].includes((value as { kind?: string }).kind ?? '');
}

export function requireLocalTarget(resolve: (name: string) => unknown, name: string): LocalTarget {
  const t = resolve(name);
  if (!isLocalTarget(t)) throw new Error(`target '${name}' is not a local stage or host target`);
  return t;
}
