// `drill schedule --emit k8s`: what a team applies to run its drills in the cluster on cron — a
// CronJob per drill, the runner's ServiceAccount, a Role + RoleBinding per namespace with exactly
// the access the drills use (kubernetes/access.ts, the list `drill doctor` reviews), and the
// evidence PersistentVolumeClaim. Pure; every object is checked against its kind's schema.
import { posix } from 'node:path';
import { stringify } from 'yaml';
import type { KubernetesEnvironment } from '../define/config.ts';
import type { DrillPlan, DrillUses } from '../define/types.ts';
import { DEFAULT_TOKEN_DIR, IN_CLUSTER_CONTEXT_ENV, TOKEN_DIR_ENV } from '../kubernetes/client.ts';
import { drillUse, requiredAccess, roleRules } from '../kubernetes/access.ts';
import { dnsLabel } from '../faults/chaos-mesh/objects.ts';
import { SIGNING_KEY_FILE_ENV } from '../evidence/keys.ts';
import { k8sObjectProblems } from './k8s-schema.ts';

/** The runner image's WORKDIR: the team's repository (the Dockerfile copies it there). */
export const WORKDIR = '/app';
export const RUNNER = 'drillbook-runner';
export const EVIDENCE_CLAIM = 'drillbook-evidence';
export const DEFAULT_SIGNING_KEY_SECRET = 'drillbook-signing-key';
/** The key in the signing-key Secret holding the private key (PEM). */
export const SIGNING_KEY_KEY = 'signing.key';
/** The Secret holding the environment's alertWebhook token, when it has one (key: the token file's name). */
export const ALERT_WEBHOOK_SECRET = 'drillbook-alert-webhook';
const SIGNING_KEY_DIR = '/var/run/secrets/drillbook/signing-key';
/** Not the default service-account path: the token is projected explicitly (automount is off). */
const TOKEN_DIR = '/var/run/secrets/drillbook/kube';
const MANAGED = { 'app.kubernetes.io/managed-by': 'drillbook', 'app.kubernetes.io/component': 'drill-runner' };

export interface ScheduledDrillFile {
  /** The drill file relative to the project root, as `drill run` takes it. */
  file: string;
  cron: string;
  plan: DrillPlan;
  /** What the drill imports (journeys, load): the HTTP methods it sends through the pod proxy. */
  uses?: DrillUses;
}

export interface K8sEmitOptions {
  envName: string;
  env: KubernetesEnvironment;
  /** The config's evidenceDir (relative to the project root). */
  evidenceDir: string;
  image: string;
  /** Where the CronJobs, the ServiceAccount and the claim live. */
  namespace: string;
  /** An existing claim to write evidence to; none: one is emitted. */
  pvc?: string;
  signingKeySecret?: string;
  release?: string;
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
};

/** `drill-<file's name>`, at most 52 characters (the CronJob controller appends 11 to its Jobs' names). */
export function cronJobName(file: string): string {
  const base = dnsLabel(`drill-${posix.basename(file).replace(/\.ts$/, '')}`);
  return base.length <= 52 ? base : base.slice(0, 52).replace(/-+$/, '');
}

/** The container path a project-relative path has in the runner image. */
const inImage = (rel: string) => posix.join(WORKDIR, rel);

function cronJob(d: ScheduledDrillFile, o: K8sEmitOptions): K8sObject {
  const name = cronJobName(d.file);
  const volumes: Array<Record<string, unknown>> = [
    { name: 'evidence', persistentVolumeClaim: { claimName: o.pvc ?? EVIDENCE_CLAIM } },
    // Owner and group (fsGroup) may read; the runner's user is in that group.
    { name: 'signing-key', secret: { secretName: o.signingKeySecret ?? DEFAULT_SIGNING_KEY_SECRET, defaultMode: 0o440 } },
    {
      name: 'kube-api',
      projected: {
        defaultMode: 0o440,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    // The root filesystem is read-only: what a run writes besides evidence (journal, locks, caches) goes here.
    { name: 'state', emptyDir: {} },
    { name: 'tmp', emptyDir: {} },
  ];
  const mounts: Array<Record<string, unknown>> = [
    { name: 'evidence', mountPath: inImage(o.evidenceDir) },
    { name: 'signing-key', mountPath: SIGNING_KEY_DIR, readOnly: true },
    { name: 'kube-api', mountPath: TOKEN_DIR, readOnly: true },
    { name: 'state', mountPath: inImage('.drillbook') },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  const hook = o.env.alertWebhook;
  if (hook) {
    volumes.push({ name: 'alert-webhook', secret: { secretName: ALERT_WEBHOOK_SECRET, defaultMode: 0o440 } });
    mounts.push({ name: 'alert-webhook', mountPath: inImage(posix.dirname(hook.tokenFile)), readOnly: true });
  }
  const env = [
    { name: IN_CLUSTER_CONTEXT_ENV, value: o.env.context },
    { name: TOKEN_DIR_ENV, value: TOKEN_DIR },
    { name: SIGNING_KEY_FILE_ENV, value: posix.join(SIGNING_KEY_DIR, SIGNING_KEY_KEY) },
    // npx and tsx write caches under $HOME and the tmp dir: both on the writable emptyDir.
    { name: 'HOME', value: '/tmp' },
    { name: 'npm_config_cache', value: '/tmp/.npm' },
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: o.namespace, labels: { ...MANAGED, 'drillbook.dev/environment': dnsLabel(o.envName) } },
    spec: {
      schedule: d.cron,
      concurrencyPolicy: 'Forbid', // never two runs of one drill at once
      startingDeadlineSeconds: 600, // a run missed by more than 10 minutes (controller down) is skipped, not started late
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: MANAGED },
        spec: {
          backoffLimit: 0, // a failed drill is a result to read, not something to retry
          activeDeadlineSeconds: 4 * 3600,
          ttlSecondsAfterFinished: 7 * 24 * 3600,
          template: {
            metadata: { labels: MANAGED },
            spec: {
              restartPolicy: 'Never',
              serviceAccountName: RUNNER,
              automountServiceAccountToken: false,
              // node:24-bookworm-slim's `node` user.
              securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'drill',
                  image: o.image,
                  args: ['run', d.file, '--env', o.envName, '--release', o.release ?? 'nightly'],
                  env,
                  resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
                  volumeMounts: mounts,
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
                },
              ],
              volumes,
            },
          },
        },
      },
    },
  };
}

/** Pure: every object, in apply order (account and permissions first, then storage, then the CronJobs). */
export function k8sObjects(drills: ScheduledDrillFile[], o: K8sEmitOptions): K8sObject[] {
  const out: K8sObject[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: RUNNER, namespace: o.namespace, labels: MANAGED }, automountServiceAccountToken: false },
  ];
  const plans = drills.map((d) => d.plan);
  for (const [namespace, rules] of roleRules(requiredAccess(o.env, drillUse(drills, o.env), plans))) {
    out.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: RUNNER, namespace, labels: MANAGED }, rules });
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: RUNNER, namespace, labels: MANAGED },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: RUNNER },
      subjects: [{ kind: 'ServiceAccount', name: RUNNER, namespace: o.namespace }],
    });
  }
  if (!o.pvc)
    out.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: EVIDENCE_CLAIM, namespace: o.namespace, labels: MANAGED },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
    });
  for (const d of drills) out.push(cronJob(d, o));
  const problems = out.flatMap((obj) => k8sObjectProblems(obj).map((p) => `${obj.kind} ${obj.metadata.name}: ${p.path || '(object)'}: ${p.message}`));
  // The schema guards this file's own output: a problem here is a bug in the emitter, not the user's.
  if (problems.length) throw new Error(`the emitted objects do not conform:\n${problems.join('\n')}`);
  return out;
}

/** Multi-document YAML, with a header saying what to create first. */
export function k8sYaml(objects: K8sObject[], o: Pick<K8sEmitOptions, 'namespace' | 'signingKeySecret' | 'env'>): string {
  const header = [
    '# drill schedule --emit k8s (docs/pipelines.md). Before applying, in namespace ' + o.namespace + ':',
    `#   kubectl -n ${o.namespace} create secret generic ${o.signingKeySecret ?? DEFAULT_SIGNING_KEY_SECRET} --from-file=${SIGNING_KEY_KEY}=<private key PEM>`,
    ...(o.env.alertWebhook
      ? [`#   kubectl -n ${o.namespace} create secret generic ${ALERT_WEBHOOK_SECRET} --from-file=${posix.basename(o.env.alertWebhook.tokenFile)}=<token file>`]
      : []),
    `# The runner authenticates with its ServiceAccount (${IN_CLUSTER_CONTEXT_ENV}; default token dir ${DEFAULT_TOKEN_DIR}).`,
  ].join('\n');
  return `${header}\n${objects.map((obj) => stringify(obj, { lineWidth: 0 })).join('---\n')}`;
}
