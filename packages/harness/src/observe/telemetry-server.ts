// One loopback HTTP server for the telemetry the harness receives (OTLP traces, Faro
// payloads): per-run bearer tokens, body reading within size and time limits (gzip/deflate
// decoded off the event loop, capped after decoding) and CORS for registered origins only,
// in one place; the protocol handlers elsewhere.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerOf, HttpError, newToken, readBody, refuse, tokenMatches, type BodyLimits } from './http-input.ts';

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

export interface RouteOptions {
  /** Which of the run's tokens the route asks for. */
  token?: 'otlp' | 'faro';
  /** Browsers post here (CORS for the registered origins). */
  browser?: boolean;
  limits?: Partial<BodyLimits>;
}

const MiB = 1024 * 1024;
const DEFAULT_LIMITS: BodyLimits = { maxBytes: 8 * MiB, maxDecodedBytes: 32 * MiB, timeoutMs: 10_000 };

/** The protocols' standard paths and what they need; any other route asks for the OTLP token. */
const KNOWN_ROUTES: Record<string, RouteOptions> = {
  '/v1/traces': { token: 'otlp' },
  // Faro batches are small; a page is the only legitimate sender.
  '/collect': { token: 'faro', browser: true, limits: { maxBytes: 1 * MiB, maxDecodedBytes: 4 * MiB } },
};

// What the Faro SDK sends besides content-type: its `apiKey` option becomes x-api-key.
const PREFLIGHT_HEADERS = 'authorization, content-type, content-encoding, x-api-key, x-faro-session-id, idempotency-key';

interface Route {
  handler: TelemetryHandler;
  token: 'otlp' | 'faro';
  browser: boolean;
  limits: BodyLimits;
}

export class TelemetryServer {
  /** Exporters send `Authorization: Bearer <otlpToken>` to /v1/traces. */
  readonly otlpToken = newToken();
  /** The page's Faro SDK sends it as `Authorization: Bearer` or as its `apiKey` (x-api-key) to /collect. */
  readonly faroToken = newToken();
  private server: Server | undefined;
  private readonly routes = new Map<string, Route>();
  private readonly reads = new Map<string, () => HandlerResponse | Promise<HandlerResponse>>();
  private readonly origins = new Set<string>();
  url = '';

  route(path: string, handler: TelemetryHandler, options: RouteOptions = {}): this {
    const known = KNOWN_ROUTES[path] ?? {};
    this.routes.set(path, {
      handler,
      token: options.token ?? known.token ?? 'otlp',
      browser: options.browser ?? known.browser ?? false,
      limits: { ...DEFAULT_LIMITS, ...known.limits, ...options.limits },
    });
    return this;
  }

  /**
   * A GET endpoint without a token: the harness's own /metrics, which Prometheus scrapes with
   * no credentials configured. It holds fault windows (drill, phase, run id), no secret, and
   * answers without CORS headers, so a browser page cannot read it either.
   */
  get(path: string, handler: () => HandlerResponse | Promise<HandlerResponse>): this {
    this.reads.set(path, handler);
    return this;
  }

  /** A page origin (scheme://host:port) whose browsers may post to the browser routes. */
  allowOrigin(origin: string): this {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new Error(`TelemetryServer.allowOrigin: '${origin}' is not an origin; pass scheme://host:port, e.g. http://127.0.0.1:8080`);
    }
    this.origins.add(parsed.origin);
    return this;
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((err: Error) => refuse(res, 500, err.message)));
    // Slow senders cannot hold a connection open: headers and whole requests have deadlines.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  private authorised(req: IncomingMessage, route: Route): boolean {
    const expected = route.token === 'faro' ? this.faroToken : this.otlpToken;
    const apiKey = route.token === 'faro' ? req.headers['x-api-key'] : undefined;
    return tokenMatches(bearerOf(req), expected) || (typeof apiKey === 'string' && tokenMatches(apiKey, expected));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const origin = req.headers.origin;
    const route = this.routes.get(path);
    const fromAllowedPage = origin !== undefined && route?.browser === true && this.origins.has(origin);
    const cors: Record<string, string> = fromAllowedPage ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
    if (req.method === 'OPTIONS') {
      // A preflight carries no credentials: it is answered for registered origins only.
      if (!fromAllowedPage) return refuse(res, 403, 'cross-origin requests are accepted only from the registered origins', { vary: 'Origin' });
      const preflight = { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': PREFLIGHT_HEADERS, 'access-control-max-age': '600' };
      res.writeHead(204, { ...cors, ...preflight }).end();
      return;
    }
    const read = req.method === 'GET' ? this.reads.get(path) : undefined;
    if (read) {
      const out = await read();
      res.writeHead(out.status, { ...(out.contentType ? { 'content-type': out.contentType } : {}), ...out.headers }).end(out.body);
      return;
    }
    if (!route) return refuse(res, 404, `no route ${path}`);
    if (origin !== undefined && !fromAllowedPage) {
      return refuse(res, 403, 'requests from web pages are accepted only on browser routes, from the registered origins');
    }
    if (req.method !== 'POST') return refuse(res, 405, 'POST only', { ...cors, allow: 'POST' });
    if (!this.authorised(req, route)) return refuse(res, 401, `missing or wrong bearer token for ${path}`, { ...cors, 'www-authenticate': 'Bearer' });
    try {
      const body = await readBody(req, route.limits);
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const out = await route.handler({ method: req.method, path, contentType, body });
      res.writeHead(out.status, { ...cors, ...(out.contentType ? { 'content-type': out.contentType } : {}), ...out.headers });
      res.end(out.body);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 400;
      refuse(res, status, (err as Error).message, cors);
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
    await closed;
  }
}
