// The API server's proxy subresources (services/<name>[:<port>]/proxy/…, pods/…/proxy/…):
// any method, the query string kept, bodies streamed both ways and bounded. The client's
// Authorization header is the API server's credential and is never passed on; the backend
// gets its own (Prometheus' basic auth, Tempo's token) from the simulation.
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ProxyBackend {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Added to every request (the backend's own auth). */
  headers?: Record<string, string>;
}

export interface ProxyLimits {
  /** Largest request or response body carried (bytes). */
  maxBytes: number;
  /** Whole exchange, from the request to the last byte of the answer (ms). */
  timeoutMs: number;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and what the API server keeps for itself.
const DROPPED = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'impersonate-user',
  'impersonate-group',
]);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !DROPPED.has(k) && !k.startsWith('x-remote-')) out[k] = v;
  return out;
}

/** Counts bytes through; fails the stream past the limit. */
class Limit extends Transform {
  private seen = 0;
  exceeded = false;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      this.exceeded = true;
      return cb(new Error(`body larger than ${this.max} bytes`));
    }
    cb(null, chunk);
  }
}

/** A Kubernetes Status answer, for what the proxy itself refuses. */
export function statusBody(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function fail(res: ServerResponse, code: number, reason: string, message: string) {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(statusBody(code, reason, message));
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Carries one request to `backend` at `pathAndQuery` and its answer back. */
export async function forward(req: IncomingMessage, res: ServerResponse, backend: ProxyBackend, pathAndQuery: string, limits: ProxyLimits): Promise<void> {
  const target = new URL(pathAndQuery, backend.url);
  const upstream = request(target, {
    method: req.method,
    headers: { ...forwardable(req.headers), ...backend.headers, host: target.host },
    signal: AbortSignal.timeout(limits.timeoutMs),
  });
  upstream.on('error', () => {}); // a late second error (a reset after the answer) must not go unhandled
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    upstream.once('response', resolve);
    upstream.once('error', reject);
    upstream.once('close', () => reject(new Error('the connection closed before an answer')));
  });
  const requestLimit = new Limit(limits.maxBytes);
  const sent = pipeline(req, requestLimit, upstream).catch((err: unknown) => {
    upstream.destroy();
    throw err;
  });
  sent.catch(() => {}); // awaited below; a failure meanwhile is not unhandled
  let answer: IncomingMessage;
  try {
    answer = await answered;
  } catch (err) {
    await sent.catch(() => {});
    if (requestLimit.exceeded) return fail(res, 413, 'RequestEntityTooLarge', `the request body is larger than ${limits.maxBytes} bytes`);
    return fail(res, 503, 'ServiceUnavailable', `error trying to reach service: ${(err as Error).message}`);
  }
  res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardable(answer.headers));
  // An answer past the limit is cut off: the client sees a broken transfer, not a silent truncation.
  await pipeline(answer, new Limit(limits.maxBytes), res).catch(() => res.destroy());
  await sent.catch(() => {});
}
