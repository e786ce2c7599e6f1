// The API access a drill run needs on a Kubernetes environment, said once: `drill doctor` asks the
// API server about each entry (SelfSubjectAccessReview), `drill schedule --emit k8s` grants exactly
// these in a Role per namespace. Pure.
import type { KubernetesEnvironment } from '../define/config.ts';
import type { DrillPlan, DrillUses } from '../define/types.ts';
import { CHAOS_GROUP, PLURALS, chaosObjectFor } from '../faults/chaos-mesh/objects.ts';
import { parseServiceRef } from './api-proxy.ts';
import { targetsUsed } from './checks.ts';

export interface Access {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  namespace: string;
  /** One object only (a Secret the config names). */
  name?: string;
}

/** What the drills to run use, as far as access goes; without it, everything a drill on the environment may use. */
export interface DrillUse {
  /** Chaos Mesh plurals created, by namespace. */
  chaos: Array<{ plural: string; namespace: string }>;
  /** Load runs as k6-operator TestRuns. */
  testRuns: boolean;
  /**
   * The verbs of the HTTP requests sent to targets through the pod proxy: the API server authorizes
   * a proxied POST as `create` on pods/proxy, a PUT as `update`, … (probes GET: `get`).
   */
  proxyVerbs: string[];
}

/** The RBAC verb the API server checks for a proxied request of this HTTP method. */
export function proxyVerbOf(method: string): string {
  const verbs: Record<string, string> = { GET: 'get', HEAD: 'get', OPTIONS: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  return verbs[method.toUpperCase()] ?? 'get';
}

/** The HTTP methods a drill's journeys and load send (HTTP probes send GET). */
function methodsOf(uses: DrillUses | undefined): string[] {
  const methods = ['GET'];
  for (const j of Object.values(uses?.journeys ?? {}))
    for (const step of (j as { steps?: Array<{ request?: { method?: string } }> }).steps ?? []) methods.push(step.request?.method ?? 'GET');
  const load = uses?.load as { request?: { method?: string } } | undefined;
  if (load?.request?.method) methods.push(load.request.method);
  return methods;
}

/** Everything the Chaos Mesh provider does with an object it created: create it, watch it, pause it (patch), delete it. */
const CHAOS_VERBS = ['create', 'get', 'list', 'watch', 'delete', 'patch'];
const TEST_RUN_VERBS = ['create', 'get', 'watch', 'delete'];

const namespaceOf = (env: KubernetesEnvironment, target: string) => env.targets[target]?.namespace ?? env.namespaces[0]!;

/** Pure: the chaos kinds a plan's faults become on this environment (through the same mapping the provider uses), and whether it loads through the k6-operator. */
export function drillUse(drills: Array<{ plan: DrillPlan; uses?: DrillUses }>, env: KubernetesEnvironment): DrillUse {
  const chaos = new Map<string, { plural: string; namespace: string }>();
  const proxyVerbs = new Set<string>();
  let load = false;
  for (const { plan, uses } of drills) {
    for (const m of methodsOf(uses)) proxyVerbs.add(proxyVerbOf(m));
    if (plan.load) load = true;
    for (const phase of plan.phases) {
      const f = phase.fault;
      // custom, migration and data-loss run the team's own scripts: no Chaos Mesh object.
      if (!f || f.kind === 'custom' || f.kind === 'migration' || f.kind === 'data-loss') continue;
      const o = chaosObjectFor(f, env, { runId: 'access', faultId: 'access' });
      const plural = PLURALS[o.kind];
      chaos.set(`${o.metadata.namespace}/${plural}`, { plural, namespace: o.metadata.namespace });
    }
  }
  return { chaos: [...chaos.values()], testRuns: load && !!env.load?.k6Operator, proxyVerbs: [...proxyVerbs] };
}

/** Everything a drill on this environment may use: every chaos kind in every target's namespace, GET probes and POST journeys and load. */
function everything(env: KubernetesEnvironment): DrillUse {
  const namespaces = new Set(Object.keys(env.targets).map((t) => namespaceOf(env, t)));
  return {
    chaos: [...namespaces].flatMap((namespace) => ['podchaos', 'networkchaos', 'stresschaos'].map((plural) => ({ plural, namespace }))),
    testRuns: !!env.load?.k6Operator,
    proxyVerbs: ['get', 'create'],
  };
}

/**
 * Every (verb, resource) a run asks for. Opening the environment reads every target (its pods, a
 * proxy to one, its Secret-held URL), so those follow the environment's targets; chaos verbs follow
 * the faults (`use`); the end-of-run sweep lists every chaos kind in every allow-listed namespace.
 */
export function requiredAccess(env: KubernetesEnvironment, use: DrillUse = everything(env), plans?: DrillPlan[]): Access[] {
  const out: Access[] = [];
  const seen = new Set<string>();
  const add = (a: Access) => {
    const key = JSON.stringify([a.verb, a.group, a.resource, a.subresource, a.namespace, a.name]);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(a);
  };
  for (const { plural, namespace } of use.chaos) for (const verb of CHAOS_VERBS) add({ verb, group: CHAOS_GROUP, resource: plural, namespace });
  // The sweep at the end of every run (faults/chaos-mesh/leftovers.ts) looks for leftovers of each kind.
  for (const namespace of env.namespaces) for (const plural of Object.values(PLURALS)) add({ verb: 'list', group: CHAOS_GROUP, resource: plural, namespace });
  const targets = plans ? new Set(plans.flatMap(targetsUsed)) : undefined;
  for (const [name, t] of Object.entries(env.targets)) {
    const namespace = namespaceOf(env, name);
    for (const verb of ['get', 'list', 'watch']) add({ verb, group: '', resource: 'pods', namespace });
    // Without a URL, HTTP to the target goes through the API server's pod proxy.
    if (!t.url) for (const verb of use.proxyVerbs) add({ verb, group: '', resource: 'pods', subresource: 'proxy', namespace });
    // The provider reads the Events of its chaos objects when one fails: only where faults go.
    if (!targets || targets.has(name)) add({ verb: 'list', group: '', resource: 'events', namespace });
    if (t.url && typeof t.url !== 'string') add({ verb: 'get', group: '', resource: 'secrets', namespace, name: t.url.secret });
  }
  if (use.testRuns && env.load?.k6Operator)
    for (const verb of TEST_RUN_VERBS) add({ verb, group: 'k6.io', resource: 'testruns', namespace: env.load.k6Operator.namespace });
  for (const ref of [env.prometheus, env.alertmanager, env.traces?.tempo, env.traces?.jaeger])
    if (ref && typeof ref !== 'string')
      add({ verb: 'get', group: '', resource: 'services', subresource: 'proxy', namespace: parseServiceRef(ref.service).namespace });
  return out;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Pure: the access as RBAC rules, one Role's worth per namespace (same group, resource and names → one rule, verbs merged). */
export function roleRules(access: Access[]): Map<string, PolicyRule[]> {
  const byNamespace = new Map<string, Map<string, PolicyRule>>();
  for (const a of access) {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const key = JSON.stringify([a.group, resource, a.name ?? null]);
    const rules = byNamespace.get(a.namespace) ?? new Map<string, PolicyRule>();
    byNamespace.set(a.namespace, rules);
    const rule = rules.get(key) ?? { apiGroups: [a.group], resources: [resource], verbs: [], ...(a.name ? { resourceNames: [a.name] } : {}) };
    if (!rule.verbs.includes(a.verb)) rule.verbs.push(a.verb);
    rules.set(key, rule);
  }
  return new Map([...byNamespace].sort(([a], [b]) => a.localeCompare(b)).map(([ns, rules]) => [ns, [...rules.values()]]));
}
