// The graph-analytics API: a plain node:http server over PostgreSQL.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { Pool as PoolType } from 'pg';
import { trace } from '@opentelemetry/api';
import type { ServiceConfig } from './config.ts';
import { createMetrics } from './metrics.ts';
import { renderPage } from './page.ts';
import { matchRoute, pathKnown, routeName } from './routes.ts';
import { InputError, ingest, ping, recordRunbookRun, report, resolve, validateIngest } from './store.ts';

// Loaded through require so OpenTelemetry's require hooks (started before this module) patch them.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const { Pool } = require('pg') as typeof import('pg');

const faroBundlePath = require.resolve('@grafana/faro-web-sdk/dist/bundle/faro-web-sdk.iife.js');

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1 << 20) throw new HttpError(413, 'body larger than 1 MiB');
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface App {
  server: Server;
  pool: PoolType;
  close(): Promise<void>;
}

export function createApp(config: ServiceConfig): App {
  const pool = new Pool({
    connectionString: config.databaseUrl,
    max: 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 10_000,
    // A statement stuck behind a network fault fails instead of hanging forever.
    query_timeout: 10_000,
  });
  // A broken idle connection (database restarted) must not crash the process.
  pool.on('error', () => {});
  const metrics = createMetrics(config.replica);
  const page = renderPage({ faroUrl: config.faroUrl, faroHeaders: config.faroHeaders, replica: config.replica });
  let faroBundle: string | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<[string, number]> {
    const method = req.method ?? 'GET';
    const m = matchRoute(method, req.url ?? '/');
    if (!m) {
      const status = pathKnown(req.url ?? '/') ? 405 : 404;
      send(res, status, { error: status === 405 ? 'method not allowed' : 'not found' });
      return ['unmatched', status];
    }
    // Route-style span names and http.route, so traces group by endpoint, not by URL.
    const span = trace.getActiveSpan();
    span?.updateName(routeName(m.route));
    span?.setAttribute('http.route', m.route.template);
    const t = m.route.template;
    let status = 200;
    switch (t) {
      case '/':
        send(res, 200, page, 'text/html; charset=utf-8');
        break;
      case '/faro.js':
        faroBundle ??= readFileSync(faroBundlePath, 'utf8');
        send(res, 200, faroBundle, 'application/javascript');
        break;
      case '/healthz':
        send(res, 200, { status: 'ok', replica: config.replica });
        break;
      case '/readyz': {
        const ok = await ping(pool, config.readyTimeoutMs);
        status = ok ? 200 : 503;
        send(res, status, { ready: ok, replica: config.replica });
        break;
      }
      case '/metrics':
        send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
        break;
      case '/ingest': {
        const input = validateIngest(await readJson(req));
        status = 201;
        send(res, status, await ingest(pool, input));
        break;
      }
      case '/resolve': {
        const body = (await readJson(req)) as { caseId?: unknown };
        if (body.caseId === undefined) throw new HttpError(400, 'caseId is required');
        const out = await resolve(pool, String(body.caseId));
        if (!out) throw new HttpError(404, `case ${String(body.caseId)} not found`);
        send(res, status, out);
        break;
      }
      case '/runbook/:id/run': {
        const body = (await readJson(req)) as { caseId?: unknown };
        status = 202;
        send(res, status, await recordRunbookRun(pool, m.params.id!, body.caseId === undefined ? undefined : String(body.caseId)));
        break;
      }
      case '/report/:id': {
        const out = await report(pool, m.params.id!);
        if (!out) throw new HttpError(404, `case ${m.params.id} not found`);
        send(res, status, out);
        break;
      }
    }
    return [t, status];
  }

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    handle(req, res)
      .catch((err: unknown): [string, number] => {
        const route = matchRoute(method, req.url ?? '/')?.route.template ?? 'unmatched';
        // A client mistake is 4xx; anything else (database down, timeout) is 503.
        const status = err instanceof HttpError ? err.status : err instanceof InputError ? 400 : 503;
        trace.getActiveSpan()?.recordException(err as Error);
        if (!res.headersSent) send(res, status, { error: (err as Error).message });
        else res.destroy();
        return [route, status];
      })
      .then(([route, status]) => {
        // Probes and scrapes are not user traffic: counting them would dilute error ratios.
        if (route === '/metrics' || route === '/readyz' || route === '/healthz') return;
        metrics.observe(route, method, status, Number(process.hrtime.bigint() - started) / 1e9);
      });
  });
  server.keepAliveTimeout = 5_000;

  return {
    server,
    pool,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await pool.end().catch(() => {});
    },
  };
}
