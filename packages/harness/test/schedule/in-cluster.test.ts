// In-cluster credentials (kubernetes/client.ts): the CronJob's pod names the context it stands
// for; the run uses the mounted service-account token and CA only for an environment with that
// context, and refuses plainly when it is not in a pod or the token is not mounted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kubernetes/client.ts';
import { SafetyError } from '../../src/kubernetes/allow-list.ts';
import { EnvironmentError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-in-cluster-'));
const NAMES = ['DRILLBOOK_KUBE_IN_CLUSTER_CONTEXT', 'DRILLBOOK_KUBE_TOKEN_DIR', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'] as const;
const saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));

function pod(env: Partial<Record<(typeof NAMES)[number], string>>) {
  for (const n of NAMES) delete process.env[n];
  Object.assign(process.env, env);
}

afterEach(() => {
  for (const n of NAMES)
    if (saved[n] === undefined) delete process.env[n];
    else process.env[n] = saved[n];
});

describe('in-cluster credentials', () => {
  writeFileSync(join(dir, 'token'), 'a-service-account-token');
  writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'namespace'), 'drills');
  const inPod = {
    DRILLBOOK_KUBE_IN_CLUSTER_CONTEXT: 'stage',
    DRILLBOOK_KUBE_TOKEN_DIR: dir,
    KUBERNETES_SERVICE_HOST: '10.0.0.1',
    KUBERNETES_SERVICE_PORT: '443',
  };

  it('use the API server of the pod’s environment, the mounted CA and token, under the context the pod stands for', () => {
    pod(inPod);
    const kc = loadKubeConfig('/no/such/kubeconfig', 'stage'); // the kubeconfig is not read at all
    expect(kc.getCurrentContext()).toBe('stage');
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://10.0.0.1:443', caFile: join(dir, 'ca.crt'), skipTLSVerify: false });
    expect(kc.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: join(dir, 'token') } });
    expect(kc.getContextObject('stage')?.namespace).toBe('drills');
  });

  it('refuse an environment with another context (a pod emitted for one environment never acts for another)', () => {
    pod(inPod);
    expect(() => loadKubeConfig(undefined, 'prod')).toThrow(SafetyError);
    expect(() => loadKubeConfig(undefined, 'prod')).toThrow("this pod stands for context 'stage'");
  });

  it('refuse outside a pod, and without the mounted token', () => {
    pod({ DRILLBOOK_KUBE_IN_CLUSTER_CONTEXT: 'stage', DRILLBOOK_KUBE_TOKEN_DIR: dir });
    expect(() => loadKubeConfig(undefined, 'stage')).toThrow(EnvironmentError);
    expect(() => loadKubeConfig(undefined, 'stage')).toThrow('KUBERNETES_SERVICE_HOST/PORT are not set: this is not a pod');
    pod({ ...inPod, DRILLBOOK_KUBE_TOKEN_DIR: join(dir, 'missing') });
    expect(() => loadKubeConfig(undefined, 'stage')).toThrow(`${join(dir, 'missing', 'token')} is missing`);
  });

  it('are not used without the pod’s variable: a kubeconfig without the context is still refused', () => {
    pod({});
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'other', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'other',
      }),
    );
    expect(() => loadKubeConfig(kubeconfig, 'stage')).toThrow("has no context 'stage'");
    rmSync(kubeconfig);
  });
});
