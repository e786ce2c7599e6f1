// OTLP/HTTP trace receiver (POST /v1/traces), per the OTLP specification: JSON and
// binary protobuf bodies, gzip; partial success for malformed spans; 400 for a body
// that cannot be decoded (not retryable); 503 with Retry-After when the store is full
// (retryable), so an exporter backs off instead of losing data silently.
import type { HandlerResponse, ReceivedRequest } from './telemetry-server.ts';
import { decodeProtobufTraces, encodeProtobufResponse } from './otlp-proto.ts';
import { normaliseTraces, type TraceStore } from './trace-store.ts';

export function otlpTraceHandler(store: TraceStore) {
  return (req: ReceivedRequest): HandlerResponse => {
    const isJson = req.contentType === 'application/json';
    const isProto = req.contentType === 'application/x-protobuf';
    if (!isJson && !isProto) return { status: 415, contentType: 'text/plain', body: `unsupported content-type '${req.contentType}': send application/json or application/x-protobuf` };
    let decoded: unknown;
    try {
      decoded = isJson ? JSON.parse(req.body.toString('utf8')) : decodeProtobufTraces(req.body);
    } catch (err) {
      return { status: 400, contentType: 'text/plain', body: `could not decode the export request: ${(err as Error).message}` };
    }
    const { spans, rejected, reasons } = normaliseTraces(decoded, isJson ? 'hex' : 'base64');
    if (!store.hasRoomFor(spans.length)) return { status: 503, headers: { 'retry-after': '1' }, contentType: 'text/plain', body: 'trace store full' };
    store.add(spans);
    const message = reasons.slice(0, 3).join('; ');
    if (isJson) {
      const body = rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage: message } } : {};
      return { status: 200, contentType: 'application/json', body: JSON.stringify(body) };
    }
    return { status: 200, contentType: 'application/x-protobuf', body: encodeProtobufResponse(rejected, message) };
  };
}
