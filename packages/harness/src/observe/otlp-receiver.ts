// OTLP/HTTP trace receiver (POST /v1/traces), per the OTLP specification: JSON and
// binary protobuf bodies, gzip; partial success for malformed spans and for spans of other
// services refused by a full store (final: the run's own spans come first); 400 for a body
// that cannot be decoded (not retryable); 429 with Retry-After when a full store took none
// of a batch of other services' spans; 503 with Retry-After when the run's own spans do not
// fit (retryable), so an exporter backs off instead of losing data silently.
import type { HandlerResponse, ReceivedRequest } from './telemetry-server.ts';
import { decodeProtobufTraces, encodeProtobufResponse } from './otlp-proto.ts';
import { normaliseTraces, type TraceStore } from './trace-store.ts';

export function otlpTraceHandler(store: TraceStore) {
  return (req: ReceivedRequest): HandlerResponse => {
    const isJson = req.contentType === 'application/json';
    const isProto = req.contentType === 'application/x-protobuf';
    if (!isJson && !isProto)
      return { status: 415, contentType: 'text/plain', body: `unsupported content-type '${req.contentType}': send application/json or application/x-protobuf` };
    let decoded: unknown;
    try {
      decoded = isJson ? JSON.parse(req.body.toString('utf8')) : decodeProtobufTraces(req.body);
    } catch (err) {
      return { status: 400, contentType: 'text/plain', body: `could not decode the export request: ${(err as Error).message}` };
    }
    const { spans, rejected: malformed, reasons } = normaliseTraces(decoded, isJson ? 'hex' : 'base64');
    const offer = store.offer(spans);
    if (offer.full) return { status: 503, headers: { 'retry-after': '1' }, contentType: 'text/plain', body: 'trace store full' };
    if (offer.accepted === 0 && offer.refused > 0) {
      const body = "trace store full: spans of services other than the run's own are refused";
      return { status: 429, headers: { 'retry-after': '5' }, contentType: 'text/plain', body };
    }
    const rejected = malformed + offer.refused;
    if (offer.refused > 0) reasons.unshift(`${offer.refused} span(s) of services other than the run's own refused: the trace store is full`);
    const message = reasons.slice(0, 3).join('; ');
    if (isJson) {
      const body = rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage: message } } : {};
      return { status: 200, contentType: 'application/json', body: JSON.stringify(body) };
    }
    return { status: 200, contentType: 'application/x-protobuf', body: encodeProtobufResponse(rejected, message) };
  };
}
