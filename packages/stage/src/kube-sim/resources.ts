// What the simulated API server serves: its resources (group, version, plural, kind, verbs),
// the CustomResourceDefinitions it reports installed (Chaos Mesh 2.7.2, k6-operator 0.0.21),
// and the discovery documents (/api, /apis, /apis/<group>/<version>) built from them. Pure.

export type CrdSet = 'chaosMesh' | 'k6Operator';

export interface ResourceDef {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  /** Clients may create, patch and delete (otherwise the simulation owns the objects). */
  writable: boolean;
  /** Checked with the injected validator (the published CRD schemas) on create and patch. */
  validated: boolean;
  /** Served only while these CRDs are installed. */
  crd?: CrdSet;
  shortNames?: string[];
  /** Has a /status subresource. */
  status?: boolean;
}

const read = { writable: false, validated: false };
const stored = { writable: true, validated: false };
const chaos = (plural: string, kind: string, singular: string): ResourceDef => ({
  group: 'chaos-mesh.org',
  version: 'v1alpha1',
  plural,
  singular,
  kind,
  namespaced: true,
  writable: true,
  validated: true,
  crd: 'chaosMesh',
  status: true,
});

export const RESOURCES: ResourceDef[] = [
  { group: '', version: 'v1', plural: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], status: true, ...read },
  { group: '', version: 'v1', plural: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], status: true, ...read },
  // Written by clients: a TestRun's script lives in one.
  {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    writable: true,
    validated: false,
  },
  // Read by drills: the database URL a target names by Secret (graph-db-drill). Written by a team: the signing key of scheduled runs.
  { group: '', version: 'v1', plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, writable: true, validated: false },
  // What `drill schedule --emit k8s` applies (generic storage; jobs.ts runs Jobs, rbac.ts enforces Roles).
  { group: '', version: 'v1', plural: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], ...stored },
  {
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    kind: 'PersistentVolumeClaim',
    namespaced: true,
    shortNames: ['pvc'],
    status: true,
    ...stored,
  },
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', singular: 'role', kind: 'Role', namespaced: true, ...stored },
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', singular: 'rolebinding', kind: 'RoleBinding', namespaced: true, ...stored },
  { group: 'batch', version: 'v1', plural: 'cronjobs', singular: 'cronjob', kind: 'CronJob', namespaced: true, shortNames: ['cj'], status: true, ...stored },
  { group: 'batch', version: 'v1', plural: 'jobs', singular: 'job', kind: 'Job', namespaced: true, status: true, ...stored },
  { group: '', version: 'v1', plural: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], ...read },
  { group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true, ...read },
  {
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    status: true,
    ...read,
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    singular: 'replicaset',
    kind: 'ReplicaSet',
    namespaced: true,
    shortNames: ['rs'],
    status: true,
    ...read,
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'statefulsets',
    singular: 'statefulset',
    kind: 'StatefulSet',
    namespaced: true,
    shortNames: ['sts'],
    status: true,
    ...read,
  },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    status: true,
    ...read,
  },
  chaos('podchaos', 'PodChaos', 'podchaos'),
  chaos('networkchaos', 'NetworkChaos', 'networkchaos'),
  chaos('stresschaos', 'StressChaos', 'stresschaos'),
  chaos('schedules', 'Schedule', 'schedule'),
  chaos('workflows', 'Workflow', 'workflow'),
  {
    group: 'k6.io',
    version: 'v1alpha1',
    plural: 'testruns',
    singular: 'testrun',
    kind: 'TestRun',
    namespaced: true,
    writable: true,
    validated: false,
    crd: 'k6Operator',
    status: true,
  },
];

/** selfsubjectaccessreviews: create only, answered at once (not stored). */
export const ACCESS_REVIEW = { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview' };

export const CRD_VERSIONS: Record<CrdSet, { app: string; version: string }> = {
  chaosMesh: { app: 'chaos-mesh', version: '2.7.2' },
  k6Operator: { app: 'k6-operator', version: '0.0.21' },
};

export const groupVersion = (r: { group: string; version: string }) => (r.group ? `${r.group}/${r.version}` : r.version);

export function servedResources(installed: Record<CrdSet, boolean>): ResourceDef[] {
  return RESOURCES.filter((r) => !r.crd || installed[r.crd]);
}

const verbsOf = (r: ResourceDef) =>
  r.writable ? ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] : ['get', 'list', 'watch'];

/** GET /api/v1 or /apis/<group>/<version>: an APIResourceList, or undefined when not served. */
export function resourceList(group: string, version: string, installed: Record<CrdSet, boolean>): object | undefined {
  const rs = servedResources(installed).filter((r) => r.group === group && r.version === version);
  const review = group === ACCESS_REVIEW.group && version === ACCESS_REVIEW.version;
  if (!rs.length && !review) return undefined;
  const resources: object[] = rs.flatMap((r) => [
    {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
    },
    ...(r.status
      ? [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: r.writable ? ['get', 'patch', 'update'] : ['get'] }]
      : []),
  ]);
  if (group === '' && version === 'v1')
    resources.push(
      { name: 'pods/proxy', singularName: '', namespaced: true, kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
      { name: 'services/proxy', singularName: '', namespaced: true, kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    );
  if (review) resources.push({ name: ACCESS_REVIEW.plural, singularName: '', namespaced: false, kind: ACCESS_REVIEW.kind, verbs: ['create'] });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}

/** GET /apis: an APIGroupList. */
export function groupList(installed: Record<CrdSet, boolean>): object {
  const versions = new Map<string, Set<string>>();
  for (const r of servedResources(installed)) if (r.group) versions.set(r.group, (versions.get(r.group) ?? new Set()).add(r.version));
  versions.set(ACCESS_REVIEW.group, new Set([ACCESS_REVIEW.version]));
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...versions].map(([name, vs]) => {
      const list = [...vs].map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: list, preferredVersion: list[0] };
    }),
  };
}

/** The CustomResourceDefinition objects of the installed sets (cluster-scoped: namespace ''). */
export function crdObjects(installed: Record<CrdSet, boolean>, created: string) {
  return RESOURCES.filter((r) => r.crd && installed[r.crd]).map((r) => {
    const chart = CRD_VERSIONS[r.crd!];
    return {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: `${r.plural}.${r.group}`,
        namespace: '',
        creationTimestamp: created,
        labels: { 'app.kubernetes.io/name': chart.app, 'app.kubernetes.io/part-of': chart.app, 'app.kubernetes.io/version': chart.version },
      },
      spec: {
        group: r.group,
        names: { kind: r.kind, listKind: `${r.kind}List`, plural: r.plural, singular: r.singular, ...(r.shortNames ? { shortNames: r.shortNames } : {}) },
        scope: r.namespaced ? 'Namespaced' : 'Cluster',
        versions: [
          {
            name: r.version,
            served: true,
            storage: true,
            ...(r.status ? { subresources: { status: {} } } : {}),
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
      status: {
        acceptedNames: { kind: r.kind, plural: r.plural },
        storedVersions: [r.version],
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts' },
          { type: 'Established', status: 'True', reason: 'InitialNamesAccepted' },
        ],
      },
    };
  });
}
