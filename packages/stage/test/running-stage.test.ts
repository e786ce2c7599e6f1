// One stage shared by the tests that need it running: a request's metrics in Prometheus and
// its trace at an OTLP/HTTP endpoint; proxy delay on the database path; a killed replica
// restarted by the supervisor, with the dip visible in Prometheus.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStaleStage, startStage, type Stage } from '../src/index.ts';
import { controlFetch, eventually, monitoringFetch, promQuery, tempStateDir } from './helpers.ts';
import { readdirSync, rmSync } from 'node:fs';
import pg from 'pg';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  replica?: string;
}

/** A tiny OTLP/HTTP receiver: decodes JSON (what exporter-trace-otlp-http posts) and keeps spans. */
function otlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; contentTypes: Set<string>; authorizations: Set<string>; close: () => Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const authorizations = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let buf = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') buf = gunzipSync(buf);
      contentTypes.add(String(req.headers['content-type']));
      authorizations.add(String(req.headers.authorization));
      if (req.url === '/v1/traces' && String(req.headers['content-type']).startsWith('application/json')) {
        const body = JSON.parse(buf.toString('utf8')) as {
          resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
        };
        for (const rs of body.resourceSpans) {
          const replica = rs.resource.attributes?.find((a) => a.key === 'service.instance.id')?.value.stringValue as string | undefined;
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, replica });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}/v1/traces`, spans, contentTypes, authorizations, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

const attr = (s: OtlpSpan, key: string) => s.attributes?.find((a) => a.key === key)?.value;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the service's JSON answers, read field by field in each test
async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

let stage: Stage;
const ctl = (url: string, init?: RequestInit) => controlFetch(stage)(url, init);
let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
const stateDir = tempStateDir();
const RESTART_DELAY = 2_000;

beforeAll(async () => {
  receiver = await otlpReceiver();
  stage = await startStage({
    stateDir,
    restartDelay: RESTART_DELAY,
    otlpTracesUrl: receiver.url,
    otlpHeaders: { authorization: 'Bearer otlp-test-token' },
    faroCollectorUrl: 'http://127.0.0.1:9/collect',
    faroHeaders: { authorization: 'Bearer faro-test-token' },
    env: { TRACING_DISABLED_ROUTES: 'GET /report/:id' },
  });
}, 90_000);

afterAll(async () => {
  await stage?.stop();
  await cleanupStaleStage(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
  await receiver?.close();
});

describe('a running stage', () => {
  it('a request through the balancer shows up in Prometheus and as a full trace', async () => {
    const ingested = await post(stage.urls.service, '/ingest', {
      entities: [
        { kind: 'person', name: 'Zoë Brontë' },
        { kind: 'person', name: 'zoe bronte ' },
        { kind: 'org', name: 'Acme' },
      ],
      edges: [{ from: 0, to: 'Acme', kind: 'works_for' }],
    });
    expect(ingested.status).toBe(201);
    const resolved = await post(stage.urls.service, '/resolve', { caseId: ingested.body.caseId });
    expect(resolved.status).toBe(200);
    expect(resolved.body.clusters).toEqual([
      { kind: 'person', key: 'zoe bronte', entityIds: ingested.body.entityIds.slice(0, 2), names: ['Zoë Brontë', 'zoe bronte '] },
    ]);

    // The counter of that one request, scraped from the replica that answered it.
    const series = await eventually(async () => {
      const r = await promQuery(stage, 'http_requests_total{service="graph-api",route="/resolve",method="POST",code="200"}');
      return r.length ? r : undefined;
    });
    expect(series).toHaveLength(1);
    expect(series[0]!.value[1]).toBe('1');
    expect(series[0]!.metric.job).toBe('graph-api');

    // Its trace: the server span with the route name, its business step and its pg spans.
    const server = await eventually(() => receiver.spans.find((s) => s.name === 'POST /resolve'));
    expect(server.kind).toBe(2); // SERVER
    expect(attr(server, 'http.route')?.stringValue).toBe('/resolve');
    const trace = await eventually(() => {
      const t = receiver.spans.filter((s) => s.traceId === server.traceId);
      return t.some((s) => s.name === 'resolve.match') &&
        t.filter((s) => attr(s, 'db.system')?.stringValue === 'postgresql' || attr(s, 'db.system.name')?.stringValue === 'postgresql').length >= 3
        ? t
        : undefined;
    });
    const match = trace.find((s) => s.name === 'resolve.match')!;
    const pgSpans = trace.filter((s) => attr(s, 'db.system')?.stringValue === 'postgresql' || attr(s, 'db.system.name')?.stringValue === 'postgresql');
    // resolve.load, resolve.match and resolve.record each run one query, nested under their step.
    for (const step of ['resolve.load', 'resolve.match', 'resolve.record']) {
      const stepSpan = trace.find((s) => s.name === step);
      expect(stepSpan, step).toBeDefined();
      expect(stepSpan!.parentSpanId).toBe(server.spanId);
    }
    expect(pgSpans.some((s) => s.parentSpanId === match.spanId)).toBe(true);
    expect([...receiver.contentTypes].every((c) => c.startsWith('application/json'))).toBe(true);
    // Every export carried the headers startStage was given (the collector's token).
    expect([...receiver.authorizations]).toEqual(['Bearer otlp-test-token']);
  });

  it("the page's Faro transport sends the headers startStage was given", async () => {
    const page = await (await fetch(stage.urls.service)).text();
    expect(page).toContain(
      'new GrafanaFaroWebSdk.FetchTransport({ url: "http://127.0.0.1:9/collect", requestOptions: { headers: {"authorization":"Bearer faro-test-token"} } })',
    );
  });

  it('TRACING_DISABLED_ROUTES leaves a route out of the traces', async () => {
    const ingested = await post(stage.urls.service, '/ingest', { entities: [{ kind: 'org', name: 'Initech' }] });
    const report = await fetch(`${stage.urls.service}/report/${ingested.body.caseId}`);
    expect(report.status).toBe(200);
    expect(((await report.json()) as { entities: unknown[] }).entities).toHaveLength(1);
    // Later traced requests on both replicas: once their spans arrived, the report's would have.
    const before = receiver.spans.length;
    for (let i = 0; i < 4; i++) expect((await post(stage.urls.service, '/runbook/rb-7/run', { caseId: ingested.body.caseId })).status).toBe(202);
    await eventually(() => {
      const later = receiver.spans.slice(before).filter((s) => s.name === 'POST /runbook/:id/run');
      return new Set(later.map((s) => s.replica)).size === 2 || undefined;
    });
    expect(receiver.spans.filter((s) => s.name.startsWith('GET /report'))).toEqual([]);
  });

  it('archives WAL segments to the stage wal-archive and records applied migrations', async () => {
    const c = new pg.Client({ connectionString: stage.urls.database });
    await c.connect();
    try {
      const migrations = await c.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
      expect(migrations.rows.map((r) => r.name)).toEqual(['001_graph.sql', '002_runbook_runs.sql']);
      await c.query('SELECT pg_switch_wal()');
      const archived = await eventually(async () => {
        const row = (
          await c.query<{ archived_count: string; failed_count: string; last_archived_wal: string | null }>(
            'SELECT archived_count, failed_count, last_archived_wal FROM pg_stat_archiver',
          )
        ).rows[0]!;
        return Number(row.archived_count) >= 1 ? row : undefined;
      });
      expect(archived.failed_count).toBe('0');
      expect(readdirSync(stage.paths.walArchive)).toContain(archived.last_archived_wal);
    } finally {
      await c.end();
    }
  });

  it('a 200 ms delay on the db proxy slows a DB-bound request by about that much, and clears', async () => {
    const control = stage.urls.control;
    // One INSERT = one round trip to PostgreSQL; the fastest of several hides pool reconnects.
    const fastest = async () => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        expect((await post(stage.urls.service, '/runbook/rb-1/run', {})).status).toBe(202);
        times.push(performance.now() - t0);
      }
      return times.reduce((m, t) => Math.min(m, t), Infinity);
    };
    const baseline = await fastest();
    const put = await ctl(`${control}/proxies/db`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayMs: 200, direction: 'to' }),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { delayMs: number }).delayMs).toBe(200);
    const delayed = await fastest();
    // A lower bound the proxy guarantees whatever the machine's load (a loaded baseline made delayed − baseline fall short).
    expect(delayed).toBeGreaterThanOrEqual(200);
    expect(delayed - baseline).toBeLessThan(1_500);

    const cleared = await ctl(`${control}/proxies/db`, { method: 'DELETE' });
    expect(((await cleared.json()) as { effects: object }).effects).toEqual({});
    const after = await fastest();
    expect(delayed - after).toBeGreaterThanOrEqual(150);

    const bad = await ctl(`${control}/proxies/db`, { method: 'PUT', body: JSON.stringify({ delay: 5 }) });
    expect(bad.status).toBe(400);
    expect((await ctl(`${control}/proxies/nope`)).status).toBe(404);
  });

  it('POST /db/stop is a database outage the service answers with 503, and /db/start ends it', async () => {
    const control = stage.urls.control;
    expect((await ctl(`${control}/db/stop`, { method: 'POST' })).status).toBe(200);
    const status = (await (await ctl(`${control}/status`)).json()) as Array<{ name: string; healthy: boolean }>;
    expect(status.find((c) => c.name === 'postgresql')!.healthy).toBe(false);
    // The balancer fails open when no replica is ready, so the service itself answers 503.
    expect((await post(stage.urls.service, '/runbook/rb-2/run', {})).status).toBe(503);
    expect((await ctl(`${control}/db/start`, { method: 'POST' })).status).toBe(200);
    await eventually(async () => (await post(stage.urls.service, '/runbook/rb-2/run', {})).status === 202 || undefined);
    await eventually(async () => ((await (await ctl(`${control}/replicas`)).json()) as Array<{ ready: boolean }>).every((r) => r.ready) || undefined);
    const fivexx = await eventually(async () => {
      const r = await promQuery(stage, 'sum(http_requests_total{service="graph-api",code="503"})');
      return r.length ? r : undefined;
    });
    expect(Number(fivexx[0]!.value[1])).toBeGreaterThanOrEqual(1);
  });

  it('a killed replica is restarted after restartDelay on the same port, and Prometheus shows the dip', async () => {
    const control = stage.urls.control;
    const replicas = async () =>
      (await (await ctl(`${control}/replicas`)).json()) as Array<{ name: string; pid: number | null; port: number; ready: boolean; restarts: number }>;
    const before = (await replicas()).find((r) => r.name === 'replica-1')!;
    expect(before.ready).toBe(true);
    // Prometheus has seen both replicas ready before the kill.
    await eventually(async () => (await promQuery(stage, 'stage_replicas_ready'))[0]?.value[1] === '2' || undefined);

    const killedAt = Date.now();
    process.kill(before.pid!, 'SIGKILL');
    const restarted = await eventually(
      async () => {
        const r = (await replicas()).find((x) => x.name === 'replica-1')!;
        return r.pid !== null && r.pid !== before.pid ? { ...r, seenAt: Date.now() } : undefined;
      },
      30_000,
      50,
    );
    expect(restarted.restarts).toBe(before.restarts + 1);
    expect(restarted.port).toBe(before.port);
    // Not before the configured back-off.
    expect(restarted.seenAt - killedAt).toBeGreaterThanOrEqual(RESTART_DELAY);
    await eventually(async () => (await replicas()).find((x) => x.name === 'replica-1')!.ready || undefined);

    // Prometheus: the ready count went to 1 and came back to 2; the restart was counted.
    await eventually(async () => (await promQuery(stage, 'stage_replicas_ready'))[0]?.value[1] === '2' || undefined);
    const range = new URLSearchParams({ query: 'stage_replicas_ready', start: String(killedAt / 1000), end: String(Date.now() / 1000 + 1), step: '0.5' });
    const body = (await (await monitoringFetch(stage)(`${stage.urls.prometheus}/api/v1/query_range?${range}`)).json()) as {
      data: { result: Array<{ values: Array<[number, string]> }> };
    };
    const values = body.data.result[0]!.values.map(([, v]) => Number(v));
    expect(values.reduce((m, v) => Math.min(m, v), Infinity)).toBe(1);
    expect(values.at(-1)).toBe(2);
    const restarts = await eventually(async () => {
      const r = await promQuery(stage, 'stage_replica_restarts_total{replica="replica-1"}');
      return r[0]?.value[1] === '1' ? r : undefined;
    });
    expect(restarts).toHaveLength(1);
  });

  // After the restart above, so the restarted replica counts too: the stage host and every replica
  // are started with process.execPath, so they report the Node this test (the harness side) runs on.
  it('the stage host and every service replica run on the Node of the process that started the stage', async () => {
    const versions = async (query: string) => (await promQuery(stage, query)).map((s) => s.metric.version);
    const replicas = await eventually(async () => {
      const v = await versions('nodejs_version_info{replica!=""}');
      return v.length >= 2 ? v : undefined;
    });
    expect(replicas).toEqual(replicas.map(() => process.version));
    expect(
      await eventually(async () => {
        const v = await versions('stage_host_nodejs_version_info');
        return v.length > 0 ? v : undefined;
      }),
    ).toEqual([process.version]);
  });
});
