// A thin layer over @kubernetes/client-node 1.x for custom objects: create, get, merge
// patch, delete and watch one object until a condition holds. Shared by the Chaos Mesh
// provider and (later) the k6-operator TestRun path.
import { CustomObjectsApi, KubeConfig, Watch, setHeaderOptions } from '@kubernetes/client-node';

export interface ObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export type KubeObject = { metadata: { name: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> }; status?: Record<string, unknown>; [k: string]: unknown };

export function loadKubeConfig(kubeconfig?: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  return kc;
}

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
    // not JSON
  }
  return (err as Error).message;
}

export class CustomObjects {
  readonly api: CustomObjectsApi;

  constructor(readonly kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async create(ref: Omit<ObjectRef, 'name'>, body: object, dryRun = false): Promise<KubeObject> {
    try {
      return (await this.api.createNamespacedCustomObject({ ...ref, body, ...(dryRun ? { dryRun: 'All' } : {}) })) as KubeObject;
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

  async mergePatch(ref: ObjectRef, body: object): Promise<KubeObject> {
    try {
      return (await this.api.patchNamespacedCustomObject({ ...ref, body }, setHeaderOptions('Content-Type', 'application/merge-patch+json'))) as KubeObject;
    } catch (err) {
      throw new Error(apiErrorMessage(err));
    }
  }

  /** Deletes; true when it existed. Idempotent: a missing object is already reverted. */
  async delete(ref: ObjectRef): Promise<boolean> {
    try {
      await this.api.deleteNamespacedCustomObject({ ...ref, propagationPolicy: 'Foreground' });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw new Error(apiErrorMessage(err));
    }
  }

  /** Watches one object until `until(obj)` returns a value, or the timeout. */
  async watchUntil<T>(ref: ObjectRef, until: (obj: KubeObject | undefined, type: string) => T | undefined, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const path = `/apis/${ref.group}/${ref.version}/namespaces/${ref.namespace}/${ref.plural}`;
    return new Promise<T>((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        controller?.abort();
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${ref.plural}/${ref.name}: condition not reached within ${timeoutMs} ms`))), timeoutMs);
      signal?.addEventListener('abort', () => finish(() => reject(signal.reason)), { once: true });
      new Watch(this.kc)
        .watch(path, { fieldSelector: `metadata.name=${ref.name}` }, (type, obj: KubeObject) => {
          const out = until(type === 'DELETED' ? undefined : obj, type);
          if (out !== undefined) finish(() => resolve(out));
        }, (err) => {
          if (!settled && err) finish(() => reject(new Error(`watch of ${ref.plural}/${ref.name} ended: ${(err as Error).message ?? err}`)));
        })
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        }, (err: unknown) => finish(() => reject(err)));
    });
  }
}
