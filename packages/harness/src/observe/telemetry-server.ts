// One loopback HTTP server for the telemetry the harness receives (OTLP traces, Faro
// payloads): body reading with gzip/deflate, size limits and CORS in one place, the
// protocol handlers elsewhere.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string;
  body: Buffer;
}

export interface HandlerResponse {
  status: number;
  contentType?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

export type TelemetryHandler = (req: ReceivedRequest) => HandlerResponse | Promise<HandlerResponse>;

const MAX_BODY = 16 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'gzip') return gunzipSync(raw);
  if (encoding === 'deflate') return inflateSync(raw);
  if (encoding === 'identity') return raw;
  throw Object.assign(new Error(`unsupported content-encoding ${encoding}`), { status: 415 });
}

// Browsers (the Faro SDK on the stage's page) post cross-origin to this server.
const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*', 'access-control-allow-methods': 'POST, OPTIONS' };

export class TelemetryServer {
  private server: Server | undefined;
  private readonly routes = new Map<string, TelemetryHandler>();
  private readonly reads = new Map<string, () => HandlerResponse | Promise<HandlerResponse>>();
  url = '';

  route(path: string, handler: TelemetryHandler): this {
    this.routes.set(path, handler);
    return this;
  }

  /** A GET endpoint (the harness's own /metrics for Prometheus to scrape). */
  get(path: string, handler: () => HandlerResponse | Promise<HandlerResponse>): this {
    this.reads.set(path, handler);
    return this;
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS).end();
      return;
    }
    const read = req.method === 'GET' ? this.reads.get(path) : undefined;
    if (read) {
      const out = await read();
      res.writeHead(out.status, { ...(out.contentType ? { 'content-type': out.contentType } : {}), ...out.headers }).end(out.body);
      return;
    }
    const handler = this.routes.get(path);
    if (!handler) {
      res.writeHead(404, CORS).end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { ...CORS, allow: 'POST' }).end();
      return;
    }
    try {
      const body = await readBody(req);
      const out = await handler({ method: req.method, path, contentType: (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(), body });
      res.writeHead(out.status, { ...CORS, ...(out.contentType ? { 'content-type': out.contentType } : {}), ...out.headers });
      res.end(out.body);
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      res.writeHead(status, { ...CORS, 'content-type': 'text/plain' }).end((err as Error).message);
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
  }
}
