// The containers environment opened in-process: two replicas behind the harness's balancer,
// the database reached through the fault proxy, the local stage's Prometheus scraping each
// replica's metrics port, and nothing left once it is closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/define/index.ts';
import { RealClock } from '../../src/engine/clock.ts';
import type { ContainerTarget } from '../../src/faults/containers/targets.ts';
import { liveProxies } from '../../src/faults/live-proxies.ts';
import { openEnvironment, type OpenEnvironment } from '../../src/session/environment.ts';
import { until } from '../support/until.ts';
import { POSTGRES_COMMAND } from './images.ts';
import { containersProject, type ContainersProject } from './project.ts';

let project: ContainersProject;
let env: OpenEnvironment | undefined;

beforeAll(async () => {
  project = await containersProject();
}, 180_000);
afterAll(async () => {
  await env?.close();
  await project?.remove();
});

describe('openEnvironment(containers)', () => {
  it('serves the service through its balancer, is scraped by Prometheus, and leaves nothing after close', async () => {
    const config = defineConfig({
      environments: {
        ci: {
          kind: 'containers',
          monitoring: 'stage',
          services: {
            db: {
              image: project.images.postgres,
              command: POSTGRES_COMMAND,
              ports: ['pg'],
              env: { PGPORT: '{port:pg}' },
              health: { log: 'ready to accept connections' },
            },
            api: {
              image: project.images.orders,
              ports: ['http', 'metrics'],
              replicas: 2,
              dependsOn: ['db'],
              env: { PORT: '{port:http}', METRICS_PORT: '{port:metrics}', DB_ADDRESS: '{address:db.pg}', DB_PASSWORD: project.password },
              health: { http: '/healthz' },
            },
          },
        },
      },
    });
    const lines: string[] = [];
    env = await openEnvironment('ci', config.environments.ci!, { projectRoot: project.root, clock: new RealClock(), log: (l) => lines.push(l) });
    const api = env.resolveTarget('api') as ContainerTarget;
    expect(api.replicas).toHaveLength(2);
    expect(api.outbound.db).toHaveLength(1);
    expect(env.targetUrl('api')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // Through the front proxy and the balancer, to PostgreSQL through the edge's proxy.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${env.targetUrl('api')}/orders`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { tables: number }).tables).toBeGreaterThan(0);
    }
    const edge = liveProxies.get(api.outbound.db![0]!)!;
    expect(edge.stats.accepted).toBeGreaterThan(0);

    // The local stage's Prometheus scrapes both replicas' metrics ports.
    const prometheus = env.prometheus!;
    const up = await until('Prometheus to scrape both replicas', async () => {
      const samples = await prometheus.query('up{job=~"api-[12]"} == 1');
      return samples.length === 2 ? samples : undefined;
    });
    expect(up.map((s) => s.metric.job).sort()).toEqual(['api-1', 'api-2']);
    const served = await until('the service metric to be scraped', async () => {
      const s = await prometheus.query('sum(orders_requests_total{code="200"})');
      return s[0] && s[0].value >= 4 ? s[0].value : undefined;
    });
    expect(served).toBeGreaterThanOrEqual(4);

    const session = (env.facts.containers as { session: string }).session;
    await env.close();
    env = undefined;
    expect(await project.docker.listContainers({ all: true, filters: { label: [`dev.drillbook.session=${session}`] } })).toEqual([]);
    expect([...liveProxies.keys()].filter((k) => k.startsWith(`${session}/`))).toEqual([]);
  }, 240_000);
});
