// The OTLP receiver against OpenTelemetry's own encoders: spans made by the SDK,
// serialised by @opentelemetry/otlp-transformer as protobuf and JSON, sent over HTTP.
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
  beforeAll(async () => {
    url = `${await server.listen()}/v1/traces`;
  });
  afterAll(() => server.close());

  it('accepts protobuf, decodes ids, names, parents and the service', async () => {
    const spans = makeSpans();
    const body = ProtobufTraceSerializer.serializeRequest(spans)!;
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
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
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({});
    expect(store.trace(spans[0]!.spanContext().traceId)).toHaveLength(2);
  });

  it('answers partial success for malformed spans and keeps the good ones', async () => {
    const good = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(makeSpans())!).toString());
    good.resourceSpans[0].scopeSpans[0].spans.push({ traceId: 'nothex', spanId: '01', name: 'broken' });
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) });
    expect(res.statusCode).toBe(200);
    const answer = (await res.body.json()) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
    expect(answer.partialSuccess.rejectedSpans).toBe(1);
    expect(answer.partialSuccess.errorMessage).toMatch(/broken/);
  });

  it('rejects an undecodable body with 400 and an unknown content type with 415', async () => {
    const bad = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
    const unsupported = await request(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(unsupported.statusCode).toBe(415);
    await unsupported.body.dump();
  });

  it('answers 503 with Retry-After when the store is full, so exporters retry', async () => {
    const full = new TraceStore(1);
    const small = new TelemetryServer().route('/v1/traces', otlpTraceHandler(full));
    const base = await small.listen();
    try {
      const res = await request(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: ProtobufTraceSerializer.serializeRequest(makeSpans())! });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      await res.body.dump();
      expect(full.size).toBe(0);
    } finally {
      await small.close();
    }
  });
});
