// Tempo and Jaeger as trace backends, against small loopback servers answering in their
// documented response shapes: the same trace read from each gives the same spans, and the
// same trace coverage, as from the harness's own receiver.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceCoverage } from '../../src/measure/coverage.ts';
import { fetchTraces, jaegerTraceSource, localTraceSource, selectTraceSource, tempoTraceSource, TraceBackendError } from '../../src/observe/trace-backends.ts';
import { TraceStore, type StoredSpan } from '../../src/observe/trace-store.ts';

const TRACE = '5b8efff798038103d269b633813fc60c';
const CLIENT = 'eee19b7ec3c1b174'; // the span id a journey sent as parent
const SERVER = 'a1b2c3d4e5f60718';
const DB = '0f1e2d3c4b5a6978';
const T0 = 1_795_000_000_000; // ms

/** The truth both backends describe: a server span under the journey's client span, and a DB call. */
const expected: StoredSpan[] = [
  {
    traceId: TRACE,
    spanId: SERVER,
    parentSpanId: CLIENT,
    name: 'POST /ingest',
    service: 'graph-api',
    kind: 2,
    startMs: T0,
    endMs: T0 + 12.5,
    statusCode: 0,
    attributes: { 'http.route': '/ingest' },
  },
  {
    traceId: TRACE,
    spanId: DB,
    parentSpanId: SERVER,
    name: 'pg.query:INSERT graph',
    service: 'graph-api',
    kind: 3,
    startMs: T0 + 2,
    endMs: T0 + 9,
    statusCode: 2,
    attributes: { 'db.system': 'postgresql' },
  },
];

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const ns = (ms: number) => String(BigInt(Math.round(ms * 1000)) * 1000n);
const kv = (k: string, v: string) => ({ key: k, value: { stringValue: v } });

/** Tempo /api/traces/<id>: protobuf JSON mapping (ids base64, enums by name), `batches`. */
function tempoV1(scopeKey: 'scopeSpans' | 'instrumentationLibrarySpans') {
  return {
    batches: [
      {
        resource: { attributes: [kv('service.name', 'graph-api')] },
        [scopeKey]: [
          {
            scope: { name: '@opentelemetry/instrumentation-http' },
            spans: [
              {
                traceId: b64(TRACE),
                spanId: b64(SERVER),
                parentSpanId: b64(CLIENT),
                name: 'POST /ingest',
                kind: 'SPAN_KIND_SERVER',
                startTimeUnixNano: ns(T0),
                endTimeUnixNano: ns(T0 + 12.5),
                attributes: [kv('http.route', '/ingest')],
                status: {},
              },
              {
                traceId: b64(TRACE),
                spanId: b64(DB),
                parentSpanId: b64(SERVER),
                name: 'pg.query:INSERT graph',
                kind: 'SPAN_KIND_CLIENT',
                startTimeUnixNano: ns(T0 + 2),
                endTimeUnixNano: ns(T0 + 9),
                attributes: [kv('db.system', 'postgresql')],
                status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** Tempo /api/v2/traces/<id> style: `{trace:{resourceSpans}}`, hex ids, numeric enums. */
const tempoV2 = {
  trace: {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', 'graph-api')] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: TRACE,
                spanId: SERVER,
                parentSpanId: CLIENT,
                name: 'POST /ingest',
                kind: 2,
                startTimeUnixNano: ns(T0),
                endTimeUnixNano: ns(T0 + 12.5),
                attributes: [kv('http.route', '/ingest')],
              },
              {
                traceId: TRACE,
                spanId: DB,
                parentSpanId: SERVER,
                name: 'pg.query:INSERT graph',
                kind: 3,
                startTimeUnixNano: ns(T0 + 2),
                endTimeUnixNano: ns(T0 + 9),
                attributes: [kv('db.system', 'postgresql')],
                status: { code: 2 },
              },
            ],
          },
        ],
      },
    ],
  },
};

/** Jaeger query /api/traces/<id>: µs times, references, tags, processes. */
const jaeger = {
  data: [
    {
      traceID: TRACE,
      spans: [
        {
          traceID: TRACE,
          spanID: SERVER,
          operationName: 'POST /ingest',
          references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: CLIENT }],
          startTime: T0 * 1000,
          duration: 12_500,
          tags: [
            { key: 'http.route', type: 'string', value: '/ingest' },
            { key: 'span.kind', type: 'string', value: 'server' },
          ],
          processID: 'p1',
        },
        {
          traceID: TRACE,
          spanID: DB,
          operationName: 'pg.query:INSERT graph',
          references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: SERVER }],
          startTime: (T0 + 2) * 1000,
          duration: 7_000,
          tags: [
            { key: 'db.system', type: 'string', value: 'postgresql' },
            { key: 'span.kind', type: 'string', value: 'client' },
            { key: 'otel.status_code', type: 'string', value: 'ERROR' },
          ],
          processID: 'p1',
        },
      ],
      processes: { p1: { serviceName: 'graph-api', tags: [] } },
    },
  ],
  total: 0,
  limit: 0,
  offset: 0,
  errors: null,
};

interface Backend {
  url: string;
  requests: URL[];
  close: () => Promise<void>;
}
/** A loopback server answering by path; a handler may count calls (404 before the trace is "indexed"). */
async function backend(answer: (u: URL, n: number) => { status: number; body: string; type?: string }): Promise<Backend> {
  const requests: URL[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(u);
    const a = answer(u, requests.length);
    res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

const servers: Backend[] = [];
const serve = async (a: Parameters<typeof backend>[0]) => {
  const b = await backend(a);
  servers.push(b);
  return b;
};
afterAll(async () => {
  for (const s of servers) await s.close();
});

const byId = (spans: StoredSpan[]) => [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId));
const request = { path: 'ingest-resolve-report/ingest', traceId: TRACE, clientSpanId: CLIENT, expectedSpans: ['POST /ingest'], services: ['graph-api'] };

describe('trace backends', () => {
  let local: StoredSpan[];
  beforeAll(() => {
    const store = new TraceStore();
    store.add(expected);
    local = store.trace(TRACE);
  });

  it('Tempo: both /api/traces shapes (batches with scopeSpans or instrumentationLibrarySpans, base64 ids, enum names) and the v2 shape give the same spans', async () => {
    for (const body of [tempoV1('scopeSpans'), tempoV1('instrumentationLibrarySpans'), tempoV2]) {
      const tempo = await serve((u) =>
        u.pathname === `/api/traces/${TRACE}` ? { status: 200, body: JSON.stringify(body) } : { status: 404, body: 'trace not found' },
      );
      expect(byId(await tempoTraceSource(tempo.url).fetchTrace(TRACE))).toEqual(byId(expected));
    }
  });

  it('Jaeger: µs times, CHILD_OF references, span.kind and otel.status_code tags, process service names', async () => {
    const j = await serve((u) =>
      u.pathname === `/api/traces/${TRACE}`
        ? { status: 200, body: JSON.stringify(jaeger) }
        : { status: 404, body: '{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}' },
    );
    const spans = byId(await jaegerTraceSource(j.url).fetchTrace(TRACE));
    expect(spans.map(({ attributes: _a, ...rest }) => rest)).toEqual(byId(expected).map(({ attributes: _b, ...rest }) => rest));
    expect(spans.find((s) => s.spanId === DB)!.attributes['db.system']).toBe('postgresql');
  });

  it('trace coverage is the same whichever backend the spans came from', async () => {
    const tempo = await serve(() => ({ status: 200, body: JSON.stringify(tempoV1('scopeSpans')) }));
    const j = await serve(() => ({ status: 200, body: JSON.stringify(jaeger) }));
    const fromLocal = traceCoverage([request], () => local);
    for (const source of [tempoTraceSource(tempo.url), jaegerTraceSource(j.url)]) {
      const spans = (await fetchTraces(source, [TRACE])).get(TRACE)!;
      const c = traceCoverage([request], () => spans);
      expect({ value: c.value, errors: c.errors, perPath: c.perPath }).toEqual({
        value: fromLocal.value,
        errors: fromLocal.errors,
        perPath: fromLocal.perPath,
      });
    }
    expect(fromLocal.value).toBe(1);
    expect(fromLocal.errors).toEqual([{ path: request.path, traceId: TRACE, span: 'pg.query:INSERT graph' }]);
  });

  it('waits for a trace the backend has not indexed yet (404, then the trace)', async () => {
    const tempo = await serve((_u, n) => (n < 3 ? { status: 404, body: 'trace not found' } : { status: 200, body: JSON.stringify(tempoV2) }));
    expect(await tempoTraceSource(tempo.url).fetchTrace(TRACE, { waitMs: 0 })).toEqual([]); // one ask, not there
    expect(await tempoTraceSource(tempo.url).fetchTrace(TRACE, { waitMs: 5_000 })).toHaveLength(2);
    expect(tempo.requests.length).toBe(3);
  });

  it('a backend error names the URL and what came back', async () => {
    const broken = await serve(() => ({ status: 500, body: 'upstream connect error', type: 'text/plain' }));
    await expect(tempoTraceSource(broken.url).fetchTrace(TRACE)).rejects.toThrow(
      new RegExp(`GET ${broken.url}/api/traces/${TRACE} answered 500: upstream connect error`),
    );
    const html = await serve(() => ({ status: 200, body: '<html>login</html>', type: 'text/html' }));
    await expect(jaegerTraceSource(html.url).fetchTrace(TRACE)).rejects.toBeInstanceOf(TraceBackendError);
  });

  it('searches: TraceQL on Tempo, service and tags on Jaeger, with the window in each API’s units', async () => {
    const tempo = await serve(() => ({
      status: 200,
      body: JSON.stringify({
        traces: [
          { traceID: TRACE, rootServiceName: 'graph-api', rootTraceName: 'POST /ingest', startTimeUnixNano: ns(T0), durationMs: 12 },
          { traceID: 'abc', rootServiceName: 'graph-api' },
        ],
        metrics: { inspectedTraces: 2 },
      }),
    }));
    const ids = await tempoTraceSource(tempo.url).searchTraceIds!({
      traceql: '{ resource.service.name = "graph-api" }',
      fromMs: T0,
      toMs: T0 + 60_000,
      limit: 20,
    });
    expect(ids).toEqual([TRACE, '00000000000000000000000000000abc']);
    const q = tempo.requests[0]!.searchParams;
    expect([tempo.requests[0]!.pathname, q.get('q'), q.get('start'), q.get('end'), q.get('limit')]).toEqual([
      '/api/search',
      '{ resource.service.name = "graph-api" }',
      String(T0 / 1000),
      String(T0 / 1000 + 60),
      '20',
    ]);
    const j = await serve(() => ({ status: 200, body: JSON.stringify(jaeger) }));
    expect(await jaegerTraceSource(j.url).searchTraceIds!({ service: 'graph-api', tags: { 'http.route': '/ingest' }, fromMs: T0, toMs: T0 + 1_000 })).toEqual([
      TRACE,
    ]);
    const jq = j.requests[0]!.searchParams;
    expect([j.requests[0]!.pathname, jq.get('service'), jq.get('tags'), jq.get('start'), jq.get('end')]).toEqual([
      '/api/traces',
      'graph-api',
      '{"http.route":"/ingest"}',
      String(T0 * 1000),
      String((T0 + 1_000) * 1000),
    ]);
  });

  it('the environment chooses: Tempo or Jaeger when configured, else the harness’s own receiver', () => {
    const store = new TraceStore();
    expect(selectTraceSource({ tempo: 'http://127.0.0.1:3200' }, store).name).toBe('tempo');
    expect(selectTraceSource({ jaeger: 'http://127.0.0.1:16686' }, store).name).toBe('jaeger');
    expect(selectTraceSource(undefined, store).name).toBe('local');
    expect(localTraceSource(store).name).toBe('local');
  });
});
