// The harness's port-forward: a loopback HTTP listener whose every request goes through the API
// server's proxy subresource — to a Service (`…/services/<name>:<port>/proxy`) or to one ready pod
// of a target (`…/pods/<name>:<port>/proxy`), that pod chosen again when it stops answering. The
// kubeconfig's own credentials are applied by client-node (token, client certificate or exec
// plugin), so whatever `kubectl` can reach, this can, and nothing else: only the one proxy path.
//
// Trust: a forwarder for the monitoring services (Prometheus, Tempo, Alertmanager) asks for the
// run's secret in `Authorization`. A target's forwarder does not (probes, load and Chromium's page
// loads go there, and a page cannot add a header to every fetch), as `kubectl port-forward` does
// not; it listens on 127.0.0.1 only and lives as long as the run.
import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

/** Where the requests go: a path prefix on the API server, chosen per request. */
export interface ProxyRoute {
  /** Describes the route in errors and facts. */
  describe: string;
  /** The API path prefix (no trailing slash), or an error saying why there is none now. */
  base(): Promise<string>;
  /** The upstream failed (connection, 502/503 from the API server): choose again next time. */
  invalidate?(): void;
}

/** Pure: `/api/v1/namespaces/<ns>/services/<name>:<port>/proxy`. */
export const serviceProxyPath = (namespace: string, name: string, port: number | string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}:${encodeURIComponent(String(port))}/proxy`;

/** Pure: `/api/v1/namespaces/<ns>/pods/<name>:<port>/proxy`. */
export const podProxyPath = (namespace: string, name: string, port: number | string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}:${encodeURIComponent(String(port))}/proxy`;

/** Pure: `{ service: 'monitoring/prometheus:9090' }` as its parts. */
export function parseServiceRef(ref: string): { namespace: string; name: string; port: string } {
  const m = /^([^/]+)\/([^:]+):(.+)$/.exec(ref);
  if (!m) throw new Error(`service '${ref}' is not 'namespace/name:port'`);
  return { namespace: m[1]!, name: m[2]!, port: m[3]! };
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and the caller's credentials never travel upstream.
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'authorization',
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'trailer']);

function forwardable(headers: IncomingHttpHeaders, dropped: Set<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !dropped.has(k.toLowerCase())) out[k] = v;
  return out;
}

export interface ForwarderOptions {
  /** `Authorization` value callers must send (the run's secret); none for a target's forwarder. */
  requireAuthorization?: string;
  /** Largest request body passed on (default 16 MiB). */
  maxRequestBytes?: number;
  /** Upstream time limit per request (default 60 s). */
  timeoutMs?: number;
}

const MiB = 1024 * 1024;

export class ApiServerForwarder {
  private server: Server | undefined;
  private readonly server_: URL;
  /** How many requests went through, and how many the upstream failed (for the run's facts). */
  readonly stats = { requests: 0, upstreamErrors: 0, refused: 0 };
  url = '';

  constructor(
    private readonly kc: KubeConfig,
    readonly route: ProxyRoute,
    private readonly opts: ForwarderOptions = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no cluster for its current context');
    this.server_ = new URL(cluster.server);
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private fail(res: ServerResponse, status: number, message: string) {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
  }

  private async forward(req: IncomingMessage, res: ServerResponse) {
    try {
      await this.forwardOnce(req, res);
    } catch (err) {
      // e.g. client-node refusing the kubeconfig's credentials or scheme: the caller sees why.
      this.stats.upstreamErrors++;
      this.fail(res, 502, `${this.route.describe}: ${(err as Error).message}`);
    }
  }

  private async forwardOnce(req: IncomingMessage, res: ServerResponse) {
    this.stats.requests++;
    if (this.opts.requireAuthorization && req.headers.authorization !== this.opts.requireAuthorization) {
      this.stats.refused++;
      return this.fail(res, 401, 'this forwarder needs the run’s credentials');
    }
    const length = Number(req.headers['content-length'] ?? 0);
    const maxBytes = this.opts.maxRequestBytes ?? 16 * MiB;
    if (length > maxBytes) return this.fail(res, 413, `request body over ${maxBytes} bytes`);

    let base: string;
    try {
      base = await this.route.base();
    } catch (err) {
      return this.fail(res, 503, `${this.route.describe}: ${(err as Error).message}`);
    }
    const upstreamUrl = new URL(`${this.server_.pathname.replace(/\/$/, '')}${base}${req.url ?? '/'}`, this.server_);
    const options: RequestOptions = {
      method: req.method ?? 'GET',
      headers: { ...forwardable(req.headers, DROPPED_REQUEST_HEADERS), host: this.server_.host },
      timeout: this.opts.timeoutMs ?? 60_000,
    };
    await this.kc.applyToHTTPSOptions(options);
    const tls = this.server_.protocol === 'https:';
    // client-node sets a TLS agent (CA, client certificate); a plain-HTTP API server (a local sim) takes the default one.
    if (!tls) delete options.agent;
    const send = tls ? httpsRequest : httpRequest;
    const upstream = send(upstreamUrl, options, (up) => {
      // The API server answers 502/503 when the pod behind the proxy is gone or not ready: choose again.
      if ((up.statusCode ?? 0) >= 502) {
        this.stats.upstreamErrors++;
        this.route.invalidate?.();
      }
      res.writeHead(up.statusCode ?? 502, forwardable(up.headers, DROPPED_RESPONSE_HEADERS));
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${options.timeout} ms`)));
    upstream.on('error', (err) => {
      this.stats.upstreamErrors++;
      this.route.invalidate?.();
      this.fail(res, 502, `${this.route.describe}: ${err.message}`);
    });
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) {
        upstream.destroy(new Error(`request body over ${maxBytes} bytes`));
        req.destroy();
      }
    });
    req.pipe(upstream);
    res.on('close', () => {
      if (!upstream.writableFinished || !res.writableFinished) upstream.destroy();
    });
  }
}
