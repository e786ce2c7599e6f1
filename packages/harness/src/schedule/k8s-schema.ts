// The shape of each object `drill schedule --emit k8s` writes, checked before it is printed: the
// fields, types and enums of the Kubernetes 1.31 OpenAPI definitions (io.k8s.api.batch.v1.CronJob,
// core.v1.PersistentVolumeClaim, ServiceAccount, rbac.v1.Role/RoleBinding) that these objects use,
// written from the published definitions — strict, so a misspelt field is an error, as
// `kubectl apply --validate=strict` would make it.
import { z } from 'zod';

const dns1123Label = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
const dns1123Subdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
const labels = z.record(z.string().max(317), z.string().max(63));
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/);

const objectMeta = (nameShape: z.ZodString) =>
  z.strictObject({ name: nameShape, namespace: dns1123Label.optional(), labels: labels.optional(), annotations: z.record(z.string(), z.string()).optional() });

const keyToPath = z.strictObject({ key: z.string().min(1), path: z.string().min(1), mode: z.number().int().min(0).max(0o777).optional() });

const volume = z
  .strictObject({
    name: dns1123Label,
    emptyDir: z.strictObject({ medium: z.enum(['', 'Memory']).optional(), sizeLimit: quantity.optional() }).optional(),
    secret: z
      .strictObject({
        secretName: dns1123Subdomain,
        items: z.array(keyToPath).optional(),
        defaultMode: z.number().int().min(0).max(0o777).optional(),
        optional: z.boolean().optional(),
      })
      .optional(),
    persistentVolumeClaim: z.strictObject({ claimName: dns1123Subdomain, readOnly: z.boolean().optional() }).optional(),
    projected: z
      .strictObject({
        defaultMode: z.number().int().min(0).max(0o777).optional(),
        sources: z.array(
          z.strictObject({
            serviceAccountToken: z
              .strictObject({ path: z.string().min(1), expirationSeconds: z.number().int().min(600).optional(), audience: z.string().optional() })
              .optional(),
            configMap: z.strictObject({ name: dns1123Subdomain, items: z.array(keyToPath).optional(), optional: z.boolean().optional() }).optional(),
            downwardAPI: z
              .strictObject({
                items: z.array(
                  z.strictObject({ path: z.string().min(1), fieldRef: z.strictObject({ apiVersion: z.string().optional(), fieldPath: z.string() }) }),
                ),
              })
              .optional(),
          }),
        ),
      })
      .optional(),
  })
  .refine((v) => ['emptyDir', 'secret', 'persistentVolumeClaim', 'projected'].filter((k) => k in v).length === 1, {
    message: 'a volume has exactly one source',
  });

const resources = z.strictObject({ requests: z.record(z.string(), quantity).optional(), limits: z.record(z.string(), quantity).optional() });

const container = z.strictObject({
  name: dns1123Label,
  image: z.string().min(1),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  env: z.array(z.strictObject({ name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/), value: z.string() })).optional(),
  resources: resources.optional(),
  volumeMounts: z
    .array(z.strictObject({ name: dns1123Label, mountPath: z.string().startsWith('/'), readOnly: z.boolean().optional(), subPath: z.string().optional() }))
    .optional(),
  securityContext: z
    .strictObject({
      allowPrivilegeEscalation: z.boolean().optional(),
      readOnlyRootFilesystem: z.boolean().optional(),
      runAsNonRoot: z.boolean().optional(),
      capabilities: z.strictObject({ drop: z.array(z.string()).optional(), add: z.array(z.string()).optional() }).optional(),
    })
    .optional(),
});

const podSpec = z.strictObject({
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never']),
  serviceAccountName: dns1123Subdomain,
  automountServiceAccountToken: z.boolean().optional(),
  securityContext: z
    .strictObject({
      runAsNonRoot: z.boolean().optional(),
      runAsUser: z.number().int().min(0).optional(),
      runAsGroup: z.number().int().min(0).optional(),
      fsGroup: z.number().int().min(0).optional(),
      seccompProfile: z.strictObject({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']) }).optional(),
    })
    .optional(),
  containers: z.array(container).min(1),
  volumes: z.array(volume).optional(),
});

const cronJob = z.strictObject({
  apiVersion: z.literal('batch/v1'),
  kind: z.literal('CronJob'),
  metadata: objectMeta(dns1123Subdomain.max(52)), // the controller appends an 11-character suffix to Job names
  spec: z.strictObject({
    schedule: z.string().regex(/^(@\w+|(\S+\s+){4}\S+)$/),
    timeZone: z.string().optional(),
    concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']),
    startingDeadlineSeconds: z.number().int().min(0).optional(),
    suspend: z.boolean().optional(),
    successfulJobsHistoryLimit: z.number().int().min(0).optional(),
    failedJobsHistoryLimit: z.number().int().min(0).optional(),
    jobTemplate: z.strictObject({
      metadata: z.strictObject({ labels: labels.optional() }).optional(),
      spec: z.strictObject({
        backoffLimit: z.number().int().min(0).optional(),
        activeDeadlineSeconds: z.number().int().min(1).optional(),
        ttlSecondsAfterFinished: z.number().int().min(0).optional(),
        template: z.strictObject({ metadata: z.strictObject({ labels: labels.optional() }).optional(), spec: podSpec }),
      }),
    }),
  }),
});

const persistentVolumeClaim = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('PersistentVolumeClaim'),
  metadata: objectMeta(dns1123Subdomain),
  spec: z.strictObject({
    accessModes: z.array(z.enum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'])).min(1),
    volumeMode: z.enum(['Filesystem', 'Block']).optional(),
    storageClassName: z.string().optional(),
    resources: z.strictObject({ requests: z.strictObject({ storage: quantity }) }),
  }),
});

const serviceAccount = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ServiceAccount'),
  metadata: objectMeta(dns1123Subdomain),
  automountServiceAccountToken: z.boolean().optional(),
});

const policyRule = z.strictObject({
  apiGroups: z.array(z.string()).min(1),
  resources: z.array(z.string().regex(/^[a-z0-9.*-]+(\/[a-z0-9*-]+)?$/)).min(1),
  verbs: z.array(z.enum(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', '*'])).min(1),
  resourceNames: z.array(z.string().min(1)).optional(),
});

const role = z.strictObject({
  apiVersion: z.literal('rbac.authorization.k8s.io/v1'),
  kind: z.literal('Role'),
  metadata: objectMeta(dns1123Subdomain),
  rules: z.array(policyRule),
});

const roleBinding = z.strictObject({
  apiVersion: z.literal('rbac.authorization.k8s.io/v1'),
  kind: z.literal('RoleBinding'),
  metadata: objectMeta(dns1123Subdomain),
  roleRef: z.strictObject({ apiGroup: z.literal('rbac.authorization.k8s.io'), kind: z.enum(['Role', 'ClusterRole']), name: dns1123Subdomain }),
  subjects: z.array(z.strictObject({ kind: z.enum(['ServiceAccount', 'User', 'Group']), name: z.string().min(1), namespace: dns1123Label.optional() })).min(1),
});

const SCHEMAS: Record<string, z.ZodType> = {
  CronJob: cronJob,
  PersistentVolumeClaim: persistentVolumeClaim,
  ServiceAccount: serviceAccount,
  Role: role,
  RoleBinding: roleBinding,
};

/** The kinds `--emit k8s` writes, each with its schema. */
export const EMITTED_KINDS = Object.keys(SCHEMAS);

/** Problems of one object against its kind's definition ('' path = the object itself); [] when it conforms. */
export function k8sObjectProblems(obj: unknown): Array<{ path: string; message: string }> {
  const kind = (obj as { kind?: unknown } | null)?.kind;
  const schema = typeof kind === 'string' ? SCHEMAS[kind] : undefined;
  if (!schema) return [{ path: 'kind', message: `not a kind this emitter writes (${EMITTED_KINDS.join(', ')})` }];
  const r = schema.safeParse(obj);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}
