// The simulated API server's storage: objects by kind/namespace/name, one global
// resourceVersion counter (as etcd's revision), a bounded event history watches replay from
// (older resourceVersions answer 410 Gone, as a compacted etcd does), and the open watches.

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
  [k: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: WatchEventType;
  object: SimObject;
  resourceVersion: number;
}

/** One term of a label selector: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`. */
export interface LabelRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | 'absent';
  values: string[];
}

/** Which objects a list or watch sees; no namespace: every namespace. */
export interface Selection {
  kind: string;
  namespace?: string;
  name?: string;
  labels?: LabelRequirement[];
  fields?: Record<string, string>;
}

/** `app=api,tier=web` → { app: 'api', tier: 'web' } (field selectors are equality only). */
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

/** A label selector string as requirements; throws on syntax a real API server also refuses. */
export function parseLabelSelector(s: string | null): LabelRequirement[] | undefined {
  if (!s?.trim()) return undefined;
  // Split on commas outside parentheses: `env in (a,b),app=x`.
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t): LabelRequirement => {
      let m = /^([\w./-]+)\s*(!=|==|=)\s*([\w.-]*)$/.exec(t);
      if (m) return { key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
      m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
      if (m)
        return {
          key: m[1]!,
          op: m[2] as 'in' | 'notin',
          values: m[3]!
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean),
        };
      m = /^(!?)([\w./-]+)$/.exec(t);
      if (m) return { key: m[2]!, op: m[1] ? 'absent' : 'exists', values: [] };
      throw new Error(`unable to parse requirement: ${t}`);
    });
}

/** Equality requirements from a label map (what a Chaos Mesh `labelSelectors` holds). */
export const requirementsOf = (labels: Record<string, string>): LabelRequirement[] =>
  Object.entries(labels).map(([key, v]) => ({ key, op: 'in', values: [v] }));

export function labelsMatch(labels: Record<string, string> | undefined, reqs: LabelRequirement[] | undefined): boolean {
  for (const r of reqs ?? []) {
    const v = labels?.[r.key];
    if (r.op === 'exists' && v === undefined) return false;
    if (r.op === 'absent' && v !== undefined) return false;
    if (r.op === 'in' && (v === undefined || !r.values.includes(v))) return false;
    if (r.op === 'notin' && v !== undefined && r.values.includes(v)) return false;
  }
  return true;
}

function fieldValue(obj: SimObject, path: string): unknown {
  return path.split('.').reduce<unknown>((cur, k) => (cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined), obj);
}

export function matches(obj: SimObject, sel: Selection): boolean {
  if (obj.kind !== sel.kind) return false;
  if (sel.namespace !== undefined && obj.metadata.namespace !== sel.namespace) return false;
  if (sel.name && obj.metadata.name !== sel.name) return false;
  if (!labelsMatch(obj.metadata.labels, sel.labels)) return false;
  for (const [k, v] of Object.entries(sel.fields ?? {})) if (String(fieldValue(obj, k)) !== v) return false;
  return true;
}

type Listener = (e: StoredEvent) => void;

/** A watch asked to start before the oldest event still kept. */
export class ResourceVersionTooOld extends Error {}

export class ObjectStore {
  private revision = 0;
  private readonly objects = new Map<string, SimObject>();
  private history: StoredEvent[] = [];
  private readonly listeners = new Set<Listener>();

  /** @param historyLimit events kept for watches that resume from a resourceVersion */
  constructor(private readonly historyLimit = 20_000) {}

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
    const oldest = this.history[0]?.resourceVersion ?? this.revision + 1;
    if (resourceVersion < oldest - 1 && resourceVersion < this.revision)
      throw new ResourceVersionTooOld(`too old resource version: ${resourceVersion} (${oldest - 1})`);
    return this.history.filter((e) => e.resourceVersion > resourceVersion && matches(e.object, sel));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: StoredEvent) {
    this.history.push(e);
    // Compaction: drop the oldest tenth at once, so the cost is amortised.
    if (this.history.length > this.historyLimit) this.history = this.history.slice(Math.ceil(this.historyLimit / 10));
    for (const l of this.listeners) l(e);
  }
}
