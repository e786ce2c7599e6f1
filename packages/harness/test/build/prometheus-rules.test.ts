// The generated rules and dashboards against a real Prometheus (started here, on
// loopback, scraping every second) and a real instrumented HTTP service: every rule
// loads healthy, a burst of 5xx makes the page alert fire, every dashboard query
// parses, and the SLO panels return data while load runs.
// When @drillbook/stage's startStage is available this belongs on the stage itself
// (see the build README); the service below carries the same metric names and labels.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { runBuild, type BuildReport } from '../../src/build/run.ts';
import { concretise, dashboardQueries } from '../../src/build/dashboards.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
let tmp: string;
let report: BuildReport;
let prom: ChildProcess | undefined;
let promUrl: string;
let service: Server | undefined;
let serviceUrl: string;
let failing = false;
let load: NodeJS.Timeout | undefined;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

async function api<T>(p: string): Promise<{ status: number; body: { status: string; data: T; error?: string } }> {
  const res = await fetch(`${promUrl}${p}`);
  return { status: res.status, body: (await res.json()) as { status: string; data: T; error?: string } };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'drillbook-rules-'));
  report = await runBuild({ projectRoot: repoRoot, outDir: path.join(tmp, 'out') });

  // A small real service: answers the critical routes, 5xx while `failing`, instrumented like graph-api.
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'requests', labelNames: ['service', 'route', 'method', 'code'], registers: [registry] });
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'latency', labelNames: ['service', 'route', 'method', 'code'], registers: [registry] });
  service = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((m) => res.writeHead(200, { 'content-type': registry.contentType }).end(m));
      return;
    }
    const started = process.hrtime.bigint();
    const code = failing ? 503 : 200;
    const route = req.url?.startsWith('/report/') ? '/report/:id' : (req.url ?? '/');
    res.writeHead(code).end();
    const labels = { service: 'graph-api', route, method: req.method ?? 'GET', code: String(code) };
    requests.inc(labels);
    duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  });
  serviceUrl = `http://127.0.0.1:${await listen(service)}`;

  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const config = path.join(tmp, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: ['${path.join(tmp, 'out/alerts')}/*.yaml']`,
      'scrape_configs:',
      `  - { job_name: graph-api, static_configs: [ { targets: ['${serviceUrl.slice(7)}'] } ] }`,
      '',
    ].join('\n'),
  );
  prom = spawn('/usr/bin/prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(tmp, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  await until('prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 30_000);

  // Steady load on the critical routes: 30 requests a second.
  const paths = [['POST', '/ingest'], ['POST', '/resolve'], ['GET', '/report/1']] as const;
  let i = 0;
  load = setInterval(() => {
    const [method, p] = paths[i++ % paths.length]!;
    void fetch(`${serviceUrl}${p}`, { method }).then((r) => r.arrayBuffer()).catch(() => {});
  }, 33);
});

afterAll(async () => {
  if (load) clearInterval(load);
  if (prom && prom.exitCode === null) {
    const exited = new Promise((r) => prom!.once('exit', r));
    prom.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (prom.exitCode === null) prom.kill('SIGKILL');
  }
  if (service) await new Promise((r) => service!.close(r));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface RuleState {
  name: string;
  health: string;
  lastError?: string;
  type: string;
  state?: string;
}

describe('generated rules in a real Prometheus', () => {
  it('loads every generated rule and evaluates it without error', async () => {
    expect(report.ok).toBe(true);
    const rules = await until('every rule evaluated', async () => {
      const { body } = await api<{ groups: Array<{ file: string; rules: RuleState[] }> }>('/api/v1/rules');
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    });
    // Only the real rule file is loaded (the tests/ rule copies are not globbed).
    expect(rules.length).toBe(44);
    expect(rules.filter((r) => r.health !== 'ok' || r.lastError)).toEqual([]);
  });

  it('every dashboard query parses, and the SLO panels return data under load', async () => {
    // The budget panel reads the end of a chain of recordings (5m → 30d → burn → remaining): wait for it for every SLO.
    await until('SLO recordings chained through', async () => {
      const { body } = await api<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent('slo:period_error_budget_remaining:ratio')}`);
      return body.data.result.length === report.slos.length ? true : undefined;
    });
    for (const f of report.files.filter((x) => x.startsWith('dashboards/'))) {
      const { uid, queries } = dashboardQueries(await readFile(path.join(tmp, 'out', f), 'utf8'));
      for (const q of queries) {
        const { status, body } = await api<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent(concretise(q.expr))}`);
        expect(status, `${uid} ${q.where}: ${body.error ?? ''}`).toBe(200);
        if (uid.startsWith('drillbook-slo-') && !q.where.startsWith('annotation')) {
          expect(body.data.result.length, `${uid} ${q.where} returned no data: ${q.expr}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('a burst of 5xx makes the page alert GraphApiAvailability pending or firing, and GraphApiDatabaseDown fire', async () => {
    const before = await api<{ alerts: Array<{ labels: Record<string, string> }> }>('/api/v1/alerts');
    expect(before.body.data.alerts.filter((a) => a.labels.alertname === 'GraphApiAvailability')).toEqual([]);
    failing = true;
    const burstStart = Date.now();
    const page = await until('page alert', async () => {
      const { body } = await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts');
      return body.data.alerts.find((a) => a.labels.alertname === 'GraphApiAvailability' && a.labels.severity === 'critical' && a.labels.long_window === '1h');
    });
    expect(['pending', 'firing']).toContain(page.state);
    // A figure for the report, not an assertion: how long the page alert took on a fresh Prometheus.
    console.info(`GraphApiAvailability ${page.state} ${((Date.now() - burstStart) / 1000).toFixed(1)}s after the 5xx burst began`);
    expect(page.labels).toMatchObject({ sloth_severity: 'page', burn_factor: '14.4', service: 'graph-api' });
    const db = await until('database-down alert firing', async () => {
      const { body } = await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts');
      return body.data.alerts.find((a) => a.labels.alertname === 'GraphApiDatabaseDown' && a.state === 'firing');
    });
    expect(db.labels.severity).toBe('critical');
    console.info(`GraphApiDatabaseDown firing ${((Date.now() - burstStart) / 1000).toFixed(1)}s after the 5xx burst began`);
    failing = false;
  }, 180_000);
});
