// A thin layer over @kubernetes/client-node 2.x for custom objects (and any other
// group/version/plural, e.g. apps/v1 deployments): create, get, list, merge patch, delete,
// and wait until a condition holds (list, then watch from the list's resourceVersion).
// Shared by the Chaos Mesh provider and (later) the k6-operator TestRun path.
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { EnvironmentError } from '../errors.ts';
import { SafetyError } from './allow-list.ts';

export interface CollectionRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
}

export interface ObjectRef extends CollectionRef {
  name: string;
}

/** What to wait on: one object by name, or every object matching a label selector. */
export type WatchTarget = CollectionRef & ({ name: string; labelSelector?: undefined } | { name?: undefined; labelSelector: string });

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
};

/**
 * The kubeconfig (a file, else client-node's default rules: $KUBECONFIG, ~/.kube/config, in-cluster)
 * set to `context`. A context the kubeconfig does not have is refused before any call: the harness
 * never falls back to whatever the current context happens to be.
 */
export function loadKubeConfig(kubeconfig?: string, context?: string): KubeConfig {
  const podContext = process.env[IN_CLUSTER_CONTEXT_ENV];
  if (podContext !== undefined) return inClusterConfig(podContext, context);
  const kc = new KubeConfig();
  const where = kubeconfig ?? 'the default kubeconfig ($KUBECONFIG or ~/.kube/config)';
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new EnvironmentError(
      `kubeconfig ${where} could not be read: ${(err as Error).message} (point 'kubeconfig' in drillbook.config.ts at the file, or set $KUBECONFIG)`,
    );
  }
  if (context) {
    if (!kc.getContextObject(context))
      throw new SafetyError(
        `${where} has no context '${context}' (it has ${
          kc
            .getContexts()
            .map((c) => `'${c.name}'`)
            .join(', ') || 'none'
        }): refusing to guess which cluster is meant (add the context, or fix the environment's context)`,
      );
    kc.setCurrentContext(context);
  }
  return kc;
}

/**
 * Set (by the CronJob `drill schedule --emit k8s` writes) to the context the pod stands for: the run
 * then uses the pod's service account instead of a kubeconfig, and only for an environment with
 * that context — a pod emitted for one environment refuses another, as a kubeconfig without the
 * context is refused. RBAC (the Role emitted with it) and the environment's allow-list still apply.
 */
export const IN_CLUSTER_CONTEXT_ENV = 'DRILLBOOK_KUBE_IN_CLUSTER_CONTEXT';
/** Where the service account's `token` and the cluster's `ca.crt` are mounted (the CronJob's projected volume). */
export const TOKEN_DIR_ENV = 'DRILLBOOK_KUBE_TOKEN_DIR';
export const DEFAULT_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** In-cluster credentials: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the mounted CA, the mounted (rotated) token. */
function inClusterConfig(podContext: string, context: string | undefined): KubeConfig {
  if (context && podContext !== context)
    throw new SafetyError(
      `this pod stands for context '${podContext}' ($${IN_CLUSTER_CONTEXT_ENV}, set by its CronJob), not the environment's '${context}': refusing to guess which cluster is meant (emit the CronJob again with --env naming this environment)`,
    );
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  const dir = process.env[TOKEN_DIR_ENV] ?? DEFAULT_TOKEN_DIR;
  if (!host || !port)
    throw new EnvironmentError(
      `$${IN_CLUSTER_CONTEXT_ENV} asks for in-cluster credentials, but KUBERNETES_SERVICE_HOST/PORT are not set: this is not a pod (unset $${IN_CLUSTER_CONTEXT_ENV} to use the kubeconfig)`,
    );
  for (const file of ['token', 'ca.crt'])
    if (!existsSync(join(dir, file)))
      throw new EnvironmentError(`in-cluster credentials: ${join(dir, file)} is missing (mount the service account token there, or set $${TOKEN_DIR_ENV})`);
  const namespaceFile = join(dir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    // client-node's tokenFile provider reads the file again as the kubelet rotates it.
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }],
    contexts: [{ name: podContext, cluster: 'in-cluster', user: 'service-account', ...(namespace ? { namespace } : {}) }],
    currentContext: podContext,
  });
  return kc;
}

/** The API server URL the current context points at. */
export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? '';
}

/** Label selector syntax from a map: `app=graph-api,tier=web`. */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export const collectionPath = (ref: CollectionRef) => `/apis/${ref.group}/${ref.version}/namespaces/${ref.namespace}/${ref.plural}`;

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404 || /HTTP-Code: 404/.test(String((err as Error)?.message));
}

/** A Kubernetes `Status` error's message, as the API server phrased it. */
export function apiErrorMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  try {
    const status = typeof body === 'string' ? JSON.parse(body) : body;
    if (status?.message) {
      const causes = (status.details?.causes ?? []) as Array<{ field?: string; message?: string }>;
      return `${status.message}${causes.length ? `: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}` : ''} (HTTP ${status.code})`;
    }
  } catch {
    // not JSON: fall through to the client's own message
  }
  return (err as Error).message;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export class CustomObjects {
  readonly api: CustomObjectsApi;

  constructor(readonly kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  /** Creates; with `dryRun` the API server validates and admits it without persisting (`dryRun=All`). */
  async create(ref: CollectionRef, body: object, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    try {
      return (await this.api.createNamespacedCustomObject({ ...ref, body, ...(options.dryRun ? { dryRun: 'All' } : {}) })) as KubeObject;
    } catch (err) {
      throw new Error(apiErrorMessage(err));
    }
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject(ref)) as KubeObject;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new Error(apiErrorMessage(err));
    }
  }

  async list(
    ref: CollectionRef,
    selectors: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    try {
      const out = (await this.api.listNamespacedCustomObject({ ...ref, ...selectors })) as { items: KubeObject[]; metadata?: { resourceVersion?: string } };
      return { items: out.items ?? [], resourceVersion: out.metadata?.resourceVersion ?? '' };
    } catch (err) {
      throw new Error(apiErrorMessage(err));
    }
  }

  async mergePatch(ref: ObjectRef, body: object): Promise<KubeObject> {
    try {
      return (await this.api.patchNamespacedCustomObject({ ...ref, body }, setHeaderOptions('Content-Type', 'application/merge-patch+json'))) as KubeObject;
    } catch (err) {
      throw new Error(apiErrorMessage(err));
    }
  }

  /** Deletes (foreground by default); true when it existed. Idempotent: a missing object is already gone. */
  async delete(ref: ObjectRef, propagationPolicy: 'Foreground' | 'Background' = 'Foreground'): Promise<boolean> {
    try {
      await this.api.deleteNamespacedCustomObject({ ...ref, propagationPolicy });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw new Error(apiErrorMessage(err));
    }
  }

  /**
   * Lists the target, then watches from the list's resourceVersion, keeping the current set
   * of matching objects; resolves with the first value `until` returns for that set. Listing
   * first means a condition that already holds (an object already gone) is seen at once.
   */
  async waitFor<T>(target: WatchTarget, until: (objects: KubeObject[]) => T | undefined, options: WaitOptions): Promise<T> {
    const what = target.name ? `${target.plural}/${target.name}` : `${target.plural} with ${target.labelSelector}`;
    const selectors = target.name ? { fieldSelector: `metadata.name=${target.name}` } : { labelSelector: target.labelSelector };
    return new Promise<T>((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const state = new Map<string, KubeObject>();
      const onAbort = () => finish(() => reject(options.signal!.reason));
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // The run's signal outlives this wait: leave no listener behind on it.
        options.signal?.removeEventListener('abort', onAbort);
        controller?.abort();
        fn();
      };
      const check = () => {
        let out: T | undefined;
        try {
          out = until([...state.values()]);
        } catch (err) {
          return finish(() => reject(err));
        }
        if (out !== undefined) finish(() => resolve(out));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${what}: condition not reached within ${options.timeoutMs} ms`))), options.timeoutMs);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });

      // A watch may end (server timeout, 410 Gone): list again and carry on, a few times.
      let restarts = 0;
      const listAndWatch = async (): Promise<void> => {
        const listed = await this.list(target, selectors);
        state.clear();
        for (const o of listed.items) state.set(o.metadata.name, o);
        check();
        if (settled) return;
        const c = await new Watch(this.kc).watch(
          collectionPath(target),
          { ...selectors, resourceVersion: listed.resourceVersion, allowWatchBookmarks: false },
          (type, obj: KubeObject) => {
            if (type === 'DELETED') state.delete(obj.metadata.name);
            else if (type === 'ADDED' || type === 'MODIFIED') state.set(obj.metadata.name, obj);
            else return; // BOOKMARK, ERROR: the list-and-watch restart covers them
            check();
          },
          (err) => {
            if (settled) return;
            if (restarts++ >= 5) return finish(() => reject(new Error(`watch of ${what} ended: ${(err as Error)?.message ?? err ?? 'closed'}`)));
            setTimeout(() => void listAndWatch().catch((e: unknown) => finish(() => reject(e))), 200);
          },
        );
        controller = c;
        if (settled) c.abort();
      };
      listAndWatch().catch((err: unknown) => finish(() => reject(err)));
    });
  }

  /** Waits on one object; `until` sees `undefined` once it no longer exists. */
  waitForObject<T>(ref: ObjectRef, until: (obj: KubeObject | undefined) => T | undefined, options: WaitOptions): Promise<T> {
    return this.waitFor(ref, (objects) => until(objects[0]), options);
  }
}
