// RBAC for the service-account tokens the simulation issues to the pods of its Jobs: a request
// is allowed when a RoleBinding in its namespace binds the account to a Role with a rule for the
// verb, API group, resource (and name, where the rule names some) — as the API server's RBAC
// authorizer does for namespaced resources. No ClusterRoles: a cluster-scoped request is refused.
// Pure over the store.
import type { ObjectStore, SimObject } from './store.ts';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

export interface RequestAttributes {
  verb: string;
  group: string;
  /** With the subresource: `pods/proxy`. */
  resource: string;
  /** '' for a cluster-scoped request. */
  namespace: string;
  name?: string;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** The verb of a REST request, as the API server names it. */
export function verbOf(method: string, hasName: boolean, watch: boolean): string {
  if (watch) return 'watch';
  switch (method) {
    case 'GET':
    case 'HEAD':
      return hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

function ruleAllows(rule: Rule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.group) || !has(rule.resources, a.resource)) return false;
  // resourceNames restrict requests that name one object (list and create name none, so they are not granted).
  if (rule.resourceNames?.length) return a.name !== undefined && rule.resourceNames.includes(a.name);
  return true;
}

/** Allowed, or the reason it is not (in the API server's words). */
export function authorize(store: ObjectStore, sa: ServiceAccountRef, a: RequestAttributes): { allowed: true } | { allowed: false; message: string } {
  const user = `system:serviceaccount:${sa.namespace}:${sa.name}`;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  const denied = { allowed: false as const, message: `User "${user}" cannot ${a.verb} resource "${a.resource}" in API group "${a.group}"${where}` };
  if (!a.namespace) return denied;
  for (const binding of store.list({ kind: 'RoleBinding', namespace: a.namespace })) {
    const subjects = (binding.subjects ?? []) as Array<{ kind?: string; name?: string; namespace?: string }>;
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && (s.namespace ?? binding.metadata.namespace) === sa.namespace)) continue;
    const ref = binding.roleRef as { kind?: string; name?: string } | undefined;
    if (ref?.kind !== 'Role' || !ref.name) continue;
    const role: SimObject | undefined = store.get('Role', a.namespace, ref.name);
    if (((role?.rules ?? []) as Rule[]).some((r) => ruleAllows(r, a))) return { allowed: true };
  }
  return denied;
}
