// What `drill schedule --emit k8s` and `--emit github` write, for the repository's own nightly
// drill: every Kubernetes object conforms to its kind's definition, the Roles grant exactly what
// the drill uses, refusals exit 2 naming the flag; the workflow has each drill and the key handling.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { k8sObjectProblems } from '../../src/schedule/k8s-schema.ts';
import { NODE_LINE } from '../../src/schedule/github.ts';
import { drill } from '../support/drill-in-process.ts';
import { repoRoot } from '../support/seed-project.ts';

/** What YAML and JSON parsing give: shapes the assertions check. */
type Loose = ReturnType<typeof parse>;
type Obj = { kind: string; metadata: { name: string; namespace: string }; [k: string]: Loose };
const dir = mkdtempSync(join(tmpdir(), 'drillbook-emit-'));
let prev: string;

beforeAll(() => {
  prev = process.cwd();
  process.chdir(repoRoot);
});
afterAll(() => {
  process.chdir(prev);
  rmSync(dir, { recursive: true, force: true });
});

async function emitK8s(...extra: string[]): Promise<Obj[]> {
  const r = await drill('schedule', 'drills/nightly.ts', '--emit', 'k8s', '--env', 'sim', '--image', 'registry.example/runner:1', ...extra);
  expect(r.err).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return parseAllDocuments(r.out).map((d) => d.toJS() as Obj);
}

describe('drill schedule --emit k8s', () => {
  it('writes the runner ServiceAccount, a Role + RoleBinding per namespace, the evidence claim and a CronJob, each conforming to its kind', async () => {
    const objects = await emitK8s();
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'ServiceAccount drills/drillbook-runner',
      'Role intelgraph/drillbook-runner',
      'RoleBinding intelgraph/drillbook-runner',
      'Role monitoring/drillbook-runner',
      'RoleBinding monitoring/drillbook-runner',
      'PersistentVolumeClaim drills/drillbook-evidence',
      'CronJob drills/drill-nightly',
    ]);
    for (const o of objects) expect(k8sObjectProblems(o), `${o.kind} ${o.metadata.name}`).toEqual([]);

    const cron = objects.find((o) => o.kind === 'CronJob')!;
    expect(cron.spec).toMatchObject({ schedule: '0 2 * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 600 });
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(pod).toMatchObject({ restartPolicy: 'Never', serviceAccountName: 'drillbook-runner', automountServiceAccountToken: false });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const c = pod.containers[0];
    expect(c.image).toBe('registry.example/runner:1');
    expect(c.args).toEqual(['run', 'drills/nightly.ts', '--env', 'sim', '--release', 'nightly']);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.resources.requests.cpu && c.resources.limits.memory).toBeTruthy();
    const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.DRILLBOOK_KUBE_IN_CLUSTER_CONTEXT).toBe('sim');
    expect(env.DRILLBOOK_SIGNING_KEY_FILE).toBe('/var/run/secrets/drillbook/signing-key/signing.key');
    const mount = (name: string) => c.volumeMounts.find((m: { name: string }) => m.name === name);
    const volume = (name: string) => pod.volumes.find((v: { name: string }) => v.name === name);
    expect(mount('evidence').mountPath).toBe('/app/evidence-pack');
    expect(volume('evidence').persistentVolumeClaim.claimName).toBe('drillbook-evidence');
    expect(mount('signing-key')).toMatchObject({ mountPath: '/var/run/secrets/drillbook/signing-key', readOnly: true });
    expect(volume('signing-key').secret.secretName).toBe('drillbook-signing-key');
    expect(mount('tmp').mountPath).toBe('/tmp');
    expect(volume('tmp').emptyDir).toEqual({});
    expect(volume('kube-api').projected.sources[0].serviceAccountToken.path).toBe('token');
    // The sim environment's fixed alert webhook: its token comes from a Secret too.
    expect(mount('alert-webhook').mountPath).toBe('/app/.drillbook/sim');
  });

  it('grants exactly what the nightly drill uses: its two chaos kinds, pods and their proxy, the named Secret, the monitoring services’ proxy', async () => {
    const objects = await emitK8s();
    const rules = (ns: string) => objects.find((o) => o.kind === 'Role' && o.metadata.namespace === ns)!.rules as Array<Record<string, string[]>>;
    const verbsFor = (ns: string, resource: string) => rules(ns).find((r) => r.resources!.includes(resource))?.verbs ?? [];
    const all = ['create', 'get', 'list', 'watch', 'delete', 'patch'];
    expect(verbsFor('intelgraph', 'podchaos')).toEqual(all); // pod-kill
    expect(verbsFor('intelgraph', 'networkchaos')).toEqual(all); // the slow database
    expect(verbsFor('intelgraph', 'stresschaos')).toEqual(['list']); // only the end-of-run sweep looks
    expect(verbsFor('intelgraph', 'pods')).toEqual(['get', 'list', 'watch']);
    expect(verbsFor('intelgraph', 'pods/proxy')).toEqual(['get', 'create']); // probes GET; the journey and the load POST (a proxied POST is 'create')
    expect(rules('intelgraph').find((r) => r.resources!.includes('secrets'))).toEqual({
      apiGroups: [''],
      resources: ['secrets'],
      verbs: ['get'],
      resourceNames: ['graph-db-drill'],
    });
    expect(rules('intelgraph').some((r) => r.apiGroups!.includes('k6.io') || r.resources!.includes('jobs'))).toBe(false);
    expect(rules('monitoring')).toEqual([{ apiGroups: [''], resources: ['services/proxy'], verbs: ['get'] }]);
    const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'monitoring')!;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'drillbook-runner', namespace: 'drills' }]);
  });

  it('with --pvc uses the existing claim and emits none', async () => {
    const objects = await emitK8s('--pvc', 'team-evidence');
    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    const pod = objects.find((o) => o.kind === 'CronJob')!.spec.jobTemplate.spec.template.spec;
    expect(pod.volumes.find((v: { name: string }) => v.name === 'evidence').persistentVolumeClaim.claimName).toBe('team-evidence');
  });

  it('refuses (exit 2) an --env that is not kind kubernetes, and a missing --image, naming the flag and the fix', async () => {
    const local = await drill('schedule', 'drills/nightly.ts', '--emit', 'k8s', '--env', 'local', '--image', 'x:1');
    expect(local.code).toBe(2);
    expect(local.err).toContain("--emit k8s needs --env naming a kind: 'kubernetes' environment; 'local' is kind 'local' (give --env one of: stage, sim)");
    const noImage = await drill('schedule', 'drills/nightly.ts', '--emit', 'k8s', '--env', 'sim');
    expect(noImage.code).toBe(2);
    expect(noImage.err).toContain('--emit k8s needs --image');
  });

  it('writes the Dockerfile with --dockerfile, and never overwrites one', async () => {
    const path = join(dir, 'Dockerfile');
    await emitK8s('--dockerfile', path);
    const text = readFileSync(path, 'utf8');
    for (const line of [`FROM node:${NODE_LINE}-bookworm-slim`, 'USER node', 'RUN npm ci && npm run build --if-present', 'ENTRYPOINT ["npx", "drill"]'])
      expect(text).toContain(line);
    writeFileSync(path, 'FROM scratch\n');
    const again = await drill('schedule', 'drills/nightly.ts', '--emit', 'k8s', '--env', 'sim', '--image', 'x:1', '--dockerfile', path);
    expect(again.code).toBe(2);
    expect(again.err).toContain('already exists: not overwriting it');
    expect(readFileSync(path, 'utf8')).toBe('FROM scratch\n');
  });
});

describe('the Kubernetes schema catches what the API server would refuse', () => {
  it('enums, required fields and shapes', async () => {
    const [, role, , , , pvc, cron] = await emitK8s();
    const broken = (o: Obj, edit: (c: Loose) => void) => {
      const c = structuredClone(o);
      edit(c);
      return k8sObjectProblems(c).map((p) => p.path);
    };
    expect(broken(cron!, (c) => (c.spec.concurrencyPolicy = 'Sometimes'))).toEqual(['spec.concurrencyPolicy']);
    expect(broken(cron!, (c) => (c.spec.jobTemplate.spec.template.spec.restartPolicy = 'Maybe'))).toEqual([
      'spec.jobTemplate.spec.template.spec.restartPolicy',
    ]);
    expect(broken(cron!, (c) => delete c.spec.jobTemplate.spec.template.spec.containers[0].image)).toEqual([
      'spec.jobTemplate.spec.template.spec.containers.0.image',
    ]);
    expect(broken(cron!, (c) => (c.spec.schedule = 'nightly'))).toEqual(['spec.schedule']);
    expect(broken(pvc!, (c) => (c.spec.accessModes = ['ReadWriteSometimes']))).toEqual(['spec.accessModes.0']);
    expect(broken(role!, (c) => (c.rules[0].verbs = ['fly']))).toEqual(['rules.0.verbs.0']);
    expect(broken(role!, (c) => (c.rules[0].apiGroups = 'chaos-mesh.org'))).toEqual(['rules.0.apiGroups']);
    expect(broken(role!, (c) => (c.rules[0].verb = ['get']))).toEqual(['rules.0']); // a misspelt field
  });
});

describe('drill schedule --emit github', () => {
  async function workflow(env: string) {
    const r = await drill('schedule', 'drills/nightly.ts', 'drills/gameday-dependency-outage.ts', '--emit', 'github', '--env', env, '--cron', '0 3 * * *');
    expect(r.code).toBe(0);
    return { text: r.out, wf: parse(r.out) };
  }

  it('runs each drill on the cron and by hand, with the key from a secret in a 0600 file, evidence uploaded and JUnit published always', async () => {
    const { wf } = await workflow('local');
    expect(wf.on).toEqual({ schedule: [{ cron: '0 3 * * *' }], workflow_dispatch: {} });
    expect(Object.keys(wf.jobs)).toEqual(['nightly', 'gameday-dependency-outage']);
    for (const [id, file] of [
      ['nightly', 'drills/nightly.ts'],
      ['gameday-dependency-outage', 'drills/gameday-dependency-outage.ts'],
    ] as const) {
      const steps = wf.jobs[id].steps as Array<Record<string, Loose>>;
      expect(steps[0]!.uses).toBe('actions/checkout@v4');
      expect(steps[1]).toMatchObject({ uses: 'actions/setup-node@v4', with: { 'node-version': NODE_LINE } });
      expect(steps[2]!.run).toBe('npm ci');
      expect(steps[3]!.run).toMatch(
        /^sudo apt-get update && sudo apt-get install -y --no-install-recommends postgresql prometheus prometheus-alertmanager chromium$/,
      );
      const key = steps.find((s) => s.env?.DRILLBOOK_SIGNING_KEY)!;
      expect(key.env.DRILLBOOK_SIGNING_KEY).toBe('${{ secrets.DRILLBOOK_SIGNING_KEY }}');
      expect(key.run).toContain('umask 077');
      expect(key.run).toContain('chmod 600 "$key"');
      expect(key.run).toContain('echo "DRILLBOOK_SIGNING_KEY_FILE=$key" >> "$GITHUB_ENV"');
      expect(steps.find((s) => s.run?.startsWith('npx drill run'))!.run).toBe(`npx drill run ${file} --env local --release nightly`);
      expect(steps.find((s) => s.uses === 'actions/upload-artifact@v4')).toMatchObject({ if: 'always()', with: { path: 'evidence-pack/' } });
      expect(steps.find((s) => s.uses?.startsWith('dorny/test-reporter'))).toMatchObject({
        if: 'always()',
        with: { path: 'evidence-pack/**/junit/*.xml', reporter: 'java-junit' },
      });
      // The key step comes before the run, the uploads after it.
      const at = (pred: (s: Record<string, Loose>) => boolean) => steps.findIndex(pred);
      expect(at((s) => !!s.env?.DRILLBOOK_SIGNING_KEY)).toBeLessThan(at((s) => s.run?.startsWith('npx drill run')));
      expect(at((s) => s.run?.startsWith('npx drill run'))).toBeLessThan(at((s) => s.uses === 'actions/upload-artifact@v4'));
    }
  });

  it("installs the stage's Debian packages only for a kind: 'local' environment", async () => {
    const { wf } = await workflow('sim');
    for (const job of Object.values(wf.jobs) as Array<{ steps: Array<{ run?: string }> }>)
      expect(job.steps.some((s) => s.run?.includes('apt-get'))).toBe(false);
  });

  it('passes actionlint where it is installed', async () => {
    const which = spawnSync('sh', ['-c', 'command -v actionlint'], { encoding: 'utf8' });
    if (which.status !== 0) return void console.log('SKIPPED: actionlint is not installed');
    const path = join(dir, 'drills.yml');
    writeFileSync(path, (await workflow('local')).text);
    const r = spawnSync('actionlint', [path], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
  });
});
