// The `containers` kind in drillbook.config.ts: a valid environment defines, and each mistake
// names its field and the fix; the environment's pure parts (placeholders, start order).
import { describe, expect, it } from 'vitest';
import { defineConfig, DefinitionError } from '../../src/define/index.ts';
import type { ConfigInput } from '../../src/define/config.ts';
import { fillEnvironment, startOrder } from '../../src/faults/containers/template.ts';

type Services = Extract<ConfigInput['environments'][string], { kind: 'containers' }>['services'];

const services = (): Services => ({
  db: { image: 'team/postgres:dev', ports: ['pg'], env: { PGPORT: '{port:pg}' }, health: { log: 'ready to accept connections' } },
  api: {
    image: 'team/api:dev',
    ports: ['http', 'metrics'],
    replicas: 2,
    dependsOn: ['db'],
    env: { PORT: '{port:http}', DATABASE: 'postgres://u@{address:db.pg}/app', OTEL: '{otlp:url}' },
    health: { http: '/healthz' },
    startupTimeout: '30s',
  },
});

function issuesOf(s: Services): Array<{ path: string; problem: string; fix: string }> {
  try {
    defineConfig({ environments: { ci: { kind: 'containers', services: s } } });
  } catch (err) {
    if (err instanceof DefinitionError) return err.issues;
    throw err;
  }
  return [];
}

describe('kind: containers', () => {
  it('a valid environment defines, with durations in ms', () => {
    const c = defineConfig({ environments: { ci: { kind: 'containers', services: services() } } });
    const env = c.environments.ci!;
    expect(env.kind).toBe('containers');
    if (env.kind !== 'containers') return;
    expect(env.services.api!.startupTimeout).toBe(30_000);
    expect(env.services.api!.dependsOn).toEqual(['db']);
  });

  const cases: Array<[string, (s: Services) => void, string, RegExp]> = [
    ['a dependency that is not a service', (s) => (s.api!.dependsOn = ['cache']), 'environments.ci.services.api.dependsOn[0]', /use one of db/],
    ['a port placeholder naming no port', (s) => (s.api!.env = { PORT: '{port:web}' }), 'environments.ci.services.api.env.PORT', /docs\/containers\.md/],
    [
      'an address of a service it does not depend on',
      (s) => (s.db!.env = { X: '{address:api.http}' }),
      'environments.ci.services.db.env.X',
      /dependsOn: \['db'\]/,
    ],
    ['health with both http and log', (s) => (s.api!.health = { http: '/h', log: 'up' }), 'environments.ci.services.api.health', /health: \{ http/],
    [
      'a health port it does not have',
      (s) => (s.api!.health = { http: '/h', port: 'admin' }),
      'environments.ci.services.api.health.port',
      /use one of http, metrics/,
    ],
    ['no ports', (s) => (s.api!.ports = []), 'environments.ci.services.api.ports', /ports: \['http'\]/],
    ['no image', (s) => delete (s.api as { image?: string }).image, 'environments.ci.services.api.image', /image: 'team\/api:dev'/],
    [
      'an unknown restart policy',
      (s) => (s.api!.restart = 'unless-stopped' as never),
      'environments.ci.services.api.restart',
      /'always', 'on-failure' or 'no'/,
    ],
    ['a dependency cycle', (s) => (s.db!.dependsOn = ['api']), 'environments.ci.services', /drop one dependsOn/],
  ];
  it.each(cases)('%s → names the field and the fix', (_title, breakIt, path, fix) => {
    const s = services();
    breakIt(s);
    const issues = issuesOf(s);
    const issue = issues.find((i) => i.path === path);
    expect(issue, `issues were: ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue!.fix).toMatch(fix);
  });
});

describe('placeholders and start order', () => {
  it('fills ports, dependency addresses and the OTLP receiver; leaves other braces alone', () => {
    const env = fillEnvironment(
      { PORT: '{port:http}', DB: 'postgres://u@{address:db.pg}/app', OTEL: '{otlp:url}', AUTH: '{otlp:authorization}', JSON: '{"a":1}' },
      { ports: { http: 18080 }, addresses: { 'db.pg': '127.0.0.1:15432' }, otlp: { url: 'http://127.0.0.1:4318/v1/traces', authorization: 'Bearer t' } },
    );
    expect(env).toEqual({
      PORT: '18080',
      DB: 'postgres://u@127.0.0.1:15432/app',
      OTEL: 'http://127.0.0.1:4318/v1/traces',
      AUTH: 'Bearer t',
      JSON: '{"a":1}',
    });
  });

  it('starts dependencies before their dependents', () => {
    expect(startOrder({ web: { dependsOn: ['api'] }, api: { dependsOn: ['db', 'cache'] }, db: {}, cache: {} })).toEqual(['db', 'cache', 'api', 'web']);
  });
});

describe('the cgroups a container stressor joins', () => {
  const have = (dirs: string[]) => (dir: string) => dirs.includes(dir);
  it('v1: the cpu, cpuacct and cpuset hierarchies of the container (joined mounts too)', async () => {
    const { cgroupDirsOf } = await import('../../src/faults/containers/stress.ts');
    const text = '9:name=systemd:/docker/abc\n4:memory:/docker/abc\n3:cpuset:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n';
    const dirs = ['/sys/fs/cgroup/cpuset/docker/abc', '/sys/fs/cgroup/cpu,cpuacct/docker/abc'];
    expect(cgroupDirsOf(text, have(dirs))).toEqual(dirs);
  });
  it('v2: the one unified directory (at the root, or under unified/ in hybrid mode)', async () => {
    const { cgroupDirsOf } = await import('../../src/faults/containers/stress.ts');
    expect(cgroupDirsOf('0::/system.slice/docker-abc.scope\n', have(['/sys/fs/cgroup/system.slice/docker-abc.scope']))).toEqual([
      '/sys/fs/cgroup/system.slice/docker-abc.scope',
    ]);
    expect(cgroupDirsOf('0::/docker/abc\n', have(['/sys/fs/cgroup/unified/docker/abc']))).toEqual(['/sys/fs/cgroup/unified/docker/abc']);
    expect(cgroupDirsOf('0::/docker/abc\n', have([]))).toEqual([]);
  });
});
