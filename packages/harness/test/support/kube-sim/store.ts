// The simulated API server's storage: objects by kind/namespace/name, one global
// resourceVersion counter (as etcd's revision), the event history watches replay from,
// and the open watches that receive new events.

export interface SimObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: WatchEventType;
  object: SimObject;
  resourceVersion: number;
}

/** Which objects a list or watch sees. */
export interface Selection {
  kind: string;
  namespace: string;
  name?: string;
  labels?: Record<string, string>;
  fields?: Record<string, string>;
}

/** `app=api,tier=web` → { app: 'api', tier: 'web' } (equality selectors, which is what clients here send). */
export function parseSelector(s: string | null): Record<string, string> | undefined {
  if (!s) return undefined;
  return Object.fromEntries(
    s
      .split(',')
      .filter(Boolean)
      .map((pair) => {
        const [k, v = ''] = pair.split(/==?/);
        return [k!.trim(), v.trim()];
      }),
  );
}

function fieldValue(obj: SimObject, path: string): unknown {
  return path.split('.').reduce<unknown>((cur, k) => (cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined), obj);
}

export function matches(obj: SimObject, sel: Selection): boolean {
  if (obj.kind !== sel.kind || obj.metadata.namespace !== sel.namespace) return false;
  if (sel.name && obj.metadata.name !== sel.name) return false;
  for (const [k, v] of Object.entries(sel.labels ?? {})) if (obj.metadata.labels?.[k] !== v) return false;
  for (const [k, v] of Object.entries(sel.fields ?? {})) if (String(fieldValue(obj, k)) !== v) return false;
  return true;
}

type Listener = (e: StoredEvent) => void;

export class ObjectStore {
  private revision = 0;
  private readonly objects = new Map<string, SimObject>();
  private readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<Listener>();

  get resourceVersion(): number {
    return this.revision;
  }

  private static key(kind: string, namespace: string, name: string) {
    return `${kind}/${namespace}/${name}`;
  }

  get(kind: string, namespace: string, name: string): SimObject | undefined {
    const o = this.objects.get(ObjectStore.key(kind, namespace, name));
    return o && structuredClone(o);
  }

  list(sel: Selection): SimObject[] {
    return [...this.objects.values()].filter((o) => matches(o, sel)).map((o) => structuredClone(o));
  }

  /** Stores a new version (ADDED or MODIFIED) under a fresh resourceVersion and tells the watches. */
  write(obj: SimObject): SimObject {
    const key = ObjectStore.key(obj.kind, obj.metadata.namespace, obj.metadata.name);
    const type: WatchEventType = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.revision);
    this.objects.set(key, stored);
    this.emit({ type, object: structuredClone(stored), resourceVersion: this.revision });
    return structuredClone(stored);
  }

  remove(kind: string, namespace: string, name: string): void {
    const key = ObjectStore.key(kind, namespace, name);
    const last = this.objects.get(key);
    if (!last) return;
    this.objects.delete(key);
    const gone = structuredClone(last);
    gone.metadata.resourceVersion = String(++this.revision);
    this.emit({ type: 'DELETED', object: gone, resourceVersion: this.revision });
  }

  /** Events after `resourceVersion` matching the selection: what a watch from there replays. */
  since(resourceVersion: number, sel: Selection): StoredEvent[] {
    return this.history.filter((e) => e.resourceVersion > resourceVersion && matches(e.object, sel));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: StoredEvent) {
    this.history.push(e);
    for (const l of this.listeners) l(e);
  }
}
