// Preflight against a Prometheus-shaped loopback server: an expected alert that is missing, or
// already firing before any fault (a long-lived stage after an earlier drill's outage), stops the
// run with exit 4 — its TTD could not be told truthfully — while a clean baseline passes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe } from '../../src/index.ts';
import { EnvironmentError } from '../../src/errors.ts';
import { PrometheusClient } from '../../src/observe/prometheus.ts';
import { preflight } from '../../src/session/run/preflight.ts';

let server: Server;
let url = '';
let firing: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const data = req.url!.startsWith('/api/v1/rules')
      ? { groups: [{ name: 'g', rules: ['GraphApiDatabaseDown', 'GraphApiAvailability'].map((name) => ({ type: 'alerting', name })) }] }
      : { alerts: firing.map((alertname) => ({ labels: { alertname }, annotations: {}, state: 'firing' })) };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const plan = defineGameDay({
  name: 'outage',
  environments: ['team'],
  steadyState: [probe.promql({ name: 'up', query: 'up', tolerance: '== 1' })],
  phases: [
    {
      name: 'db-outage',
      fault: fault.dependencyOutage({ target: 'db', duration: '10s' }),
      expect: { alerts: ['GraphApiDatabaseDown', 'GraphApiAvailability'] },
    },
  ],
}).plan;
const env = { kind: 'hosts' as const, targets: {} };

describe('preflight of the expected alerts', () => {
  it('passes on a clean baseline, naming what it checked', async () => {
    firing = ['SomethingElse'];
    const r = await preflight(plan, 'team', env, { prometheus: new PrometheusClient(url), targetUrl: () => undefined });
    expect(r.checked).toContain(`Prometheus ${url}: 2 alerting rules, 2 expected present`);
  });

  it('refuses (exit 4) when an expected alert is already firing before any fault', async () => {
    firing = ['GraphApiAvailability'];
    const run = preflight(plan, 'team', env, { prometheus: new PrometheusClient(url), targetUrl: () => undefined });
    await expect(run).rejects.toBeInstanceOf(EnvironmentError);
    await expect(run).rejects.toThrow(/phase 'db-outage' expects alert 'GraphApiAvailability' to fire, but it is firing already, before any fault/);
    await expect(run).rejects.not.toThrow(/GraphApiDatabaseDown/);
  });
});
