// The OTLP receiver against OpenTelemetry's own encoders: spans made by the SDK,
// serialised by @opentelemetry/otlp-transformer as protobuf and JSON, sent over HTTP.
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';
import { otlpTraceHandler } from '../../src/observe/otlp-receiver.ts';
import { TraceStore } from '../../src/observe/trace-store.ts';
import { ExportTraceServiceResponse } from '../../src/observe/otlp-proto.ts';
import { gzipBomb, withTicker } from './receiver-support.ts';

function makeSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'graph-api' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('test');
  // Parent explicitly: no context manager is registered in this test.
  const root = tracer.startSpan('POST /ingest', { attributes: { 'http.route': '/ingest' } });
  tracer.startSpan('pg.query:INSERT', {}, trace.setSpan(context.active(), root)).end();
  root.end();
  return exporter.getFinishedSpans();
}

describe('OTLP/HTTP trace receiver', () => {
  const store = new TraceStore(50);
  const server = new TelemetryServer().route('/v1/traces', otlpTraceHandler(store));
  let url = '';
  const auth = { authorization: `Bearer ${server.otlpToken}` };
  beforeAll(async () => {
    url = `${await server.listen()}/v1/traces`;
  });
  afterAll(() => server.close());

  it('accepts protobuf, decodes ids, names, parents and the service', async () => {
    const spans = makeSpans();
    const body = ProtobufTraceSerializer.serializeRequest(spans)!;
    const res = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-protobuf' }, body });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const answer = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(new Uint8Array(await res.body.arrayBuffer())));
    expect(answer.partialSuccess).toBeUndefined();
    const traceId = spans[0]!.spanContext().traceId;
    const stored = store.trace(traceId);
    expect(stored.map((s) => s.name).sort()).toEqual(['POST /ingest', 'pg.query:INSERT']);
    const root = stored.find((s) => s.name === 'POST /ingest')!;
    const child = stored.find((s) => s.name !== 'POST /ingest')!;
    expect(root.parentSpanId).toBeUndefined();
    expect(child.parentSpanId).toBe(root.spanId);
    expect(root.service).toBe('graph-api');
    expect(root.attributes['http.route']).toBe('/ingest');
    expect(root.endMs).toBeGreaterThanOrEqual(root.startMs);
  });

  it('accepts gzip-compressed JSON the same way', async () => {
    const spans = makeSpans();
    const body = gzipSync(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!));
    const res = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({});
    expect(store.trace(spans[0]!.spanContext().traceId)).toHaveLength(2);
  });

  it('answers partial success for malformed spans and keeps the good ones', async () => {
    const good = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(makeSpans())!).toString());
    good.resourceSpans[0].scopeSpans[0].spans.push({ traceId: 'nothex', spanId: '01', name: 'broken' });
    const res = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(good) });
    expect(res.statusCode).toBe(200);
    const answer = (await res.body.json()) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
    expect(answer.partialSuccess.rejectedSpans).toBe(1);
    expect(answer.partialSuccess.errorMessage).toMatch(/broken/);
  });

  it('rejects an undecodable body with 400 and an unknown content type with 415', async () => {
    const bad = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{not json' });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
    const unsupported = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'x' });
    expect(unsupported.statusCode).toBe(415);
    await unsupported.body.dump();
  });

  it("answers 503 with Retry-After when the run's own spans do not fit, so exporters retry", async () => {
    const full = new TraceStore(1);
    const small = new TelemetryServer().route('/v1/traces', otlpTraceHandler(full));
    const base = await small.listen();
    try {
      const res = await request(`${base}/v1/traces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${small.otlpToken}`, 'content-type': 'application/x-protobuf' },
        body: ProtobufTraceSerializer.serializeRequest(makeSpans())!,
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      await res.body.dump();
      expect(full.size).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('OTLP receiver under attack', () => {
  const store = new TraceStore({ capacity: 20_000, protectedServices: ['graph-api'] });
  const server = new TelemetryServer().route('/v1/traces', otlpTraceHandler(store));
  let url = '';
  const auth = { authorization: `Bearer ${server.otlpToken}` };
  beforeAll(async () => {
    url = `${await server.listen()}/v1/traces`;
  });
  afterAll(() => server.close());

  const post = async (headers: Record<string, string>, body: string | Buffer) => {
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
  };
  const own = JSON.stringify(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(makeSpans())!).toString()));

  it('refuses requests without the token, with a wrong one, or from a web page', async () => {
    expect((await post({}, own)).status).toBe(401);
    expect((await post({ authorization: `Bearer ${server.faroToken}` }, own)).status).toBe(401); // the other token
    expect((await post({ ...auth, origin: 'http://127.0.0.1:9' }, own)).status).toBe(403);
    const pre = await request(url, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:9', 'access-control-request-method': 'POST' } });
    expect(pre.statusCode).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    await pre.body.dump();
    expect(store.size).toBe(0);
  });

  it('answers 408 to a body that does not arrive in time, and frees the connection', async () => {
    const slow = new TelemetryServer().route('/v1/traces', otlpTraceHandler(new TraceStore()), { limits: { timeoutMs: 200 } });
    const base = new URL(await slow.listen());
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(base.port), base.hostname, () => {
          const head = `POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${slow.otlpToken}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;
          socket.write(head); // and then nothing more
        });
        let text = '';
        socket.on('data', (c) => (text += c.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toMatch(/did not arrive within 200 ms/);
    } finally {
      await slow.close();
    }
  });

  it('answers 413 to a body over the limit', async () => {
    const res = await post(auth, Buffer.alloc(9 * 1024 * 1024, 0x20));
    expect(res.status).toBe(413);
    expect(store.size).toBe(0);
  });

  it('answers 413 to a 1 GiB gzip bomb without blocking the event loop', async () => {
    const bomb = await gzipBomb(1024);
    expect(bomb.length).toBeLessThan(8 * 1024 * 1024); // under the raw limit: the decoded size is what must stop it
    const { result, maxGapMs, ticks } = await withTicker(() => post({ ...auth, 'content-encoding': 'gzip' }, bomb));
    expect(result.status).toBe(413);
    expect(result.text).toMatch(/decoded body is over the limit/);
    // The old code inflated it synchronously and held the loop for 16-25 s.
    console.log(`gzip bomb to /v1/traces: ${ticks} ticks, longest gap ${maxGapMs.toFixed(0)} ms`);
    expect(maxGapMs).toBeLessThan(1_000);
  });

  it("keeps accepting and storing the service's own spans through a 100k-span flood from another service", async () => {
    const spanOf = (service: string, i: number) => ({
      traceId: (i + 1).toString(16).padStart(32, 'a'),
      spanId: (i + 1).toString(16).padStart(16, 'b'),
      name: `${service} ${i}`,
      kind: 2,
      startTimeUnixNano: '1',
      endTimeUnixNano: '2',
    });
    const batch = (service: string, from: number, n: number) =>
      JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
            scopeSpans: [{ spans: Array.from({ length: n }, (_, k) => spanOf(service, from + k)) }],
          },
        ],
      });
    const before = await post(auth, own);
    expect(before.status).toBe(200);
    const ownTraces = store.traceIds();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 100_000; i += 2_000) {
      const res = await post(auth, batch('flooder', i, 2_000));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    // The store took foreign spans while it had room, then refused them: partial success, then 429.
    expect(statuses.get(429)).toBeGreaterThan(0);
    expect(statuses.has(503)).toBe(false);
    expect(store.size).toBeLessThanOrEqual(store.capacity);
    const after = await post(auth, batch('graph-api', 200_000, 500));
    expect(after.status).toBe(200);
    expect(JSON.parse(after.text)).toEqual({});
    for (const id of ownTraces) expect(store.trace(id).length).toBeGreaterThan(0);
    expect(store.trace((200_000 + 1).toString(16).padStart(32, 'a'))).toHaveLength(1);
    expect(store.allSpans().filter((s) => s.service === 'graph-api')).toHaveLength(502);
    const stats = store.stats();
    expect(stats.size).toBeLessThanOrEqual(stats.capacity);
    expect(stats.refused).toBeGreaterThanOrEqual(80_000);
    expect(stats.evicted).toBeGreaterThanOrEqual(500);
  });
});
