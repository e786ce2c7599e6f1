// The host's control API (HTTP JSON on 127.0.0.1), documented in packages/stage/README.md.
// Fault providers use it to find replica pids, set proxy effects and stop the database.
// Every request needs the stage's bearer token; a request with an Origin header comes from
// a browser page (a "simple" cross-site POST needs no preflight) and is refused outright.
import http from 'node:http';
import type { Registry } from 'prom-client';
import { parseEffects, type FaultProxy } from '../fault-proxy.ts';
import { sameSecret } from '../secrets.ts';

export interface ComponentStatus {
  name: string;
  kind: 'host' | 'balancer' | 'replica' | 'proxy' | 'postgresql' | 'prometheus' | 'alertmanager';
  pid?: number;
  port?: number;
  url?: string;
  healthy: boolean;
  detail?: string;
}

export interface ReplicaInfo {
  name: string;
  pid: number | null;
  port: number;
  ready: boolean;
  restarts: number;
}

export interface ControlTarget {
  status(): Promise<ComponentStatus[]>;
  replicas(): ReplicaInfo[];
  proxies: Map<string, FaultProxy>;
  stopDatabase(): Promise<void>;
  /** SIGKILL of PostgreSQL's whole process group: no shutdown checkpoint, no final archive (a disaster). */
  crashDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  reloadPrometheus(): Promise<void>;
  registry: Registry;
  shutdown(): void;
  /** Per-stage random token; requests must carry `Authorization: Bearer <token>`. */
  token: string;
}

/** Why a request may not use the API (status and message), or undefined when it may. */
export function refusal(headers: http.IncomingHttpHeaders, token: string): { status: 401 | 403; error: string } | undefined {
  if (headers.origin !== undefined) return { status: 403, error: 'requests from web pages (with an Origin header) are refused' };
  const m = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
  if (!m || !sameSecret(m[1]!, token)) return { status: 401, error: "missing or wrong bearer token; it is in the stage's stage.json (secrets.controlToken)" };
  return undefined;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function body(req: http.IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const c of req) text += c;
  if (!text) return {};
  return JSON.parse(text);
}

function proxyView(p: FaultProxy) {
  return { name: p.name, port: p.port, target: `${p.target.host}:${p.target.port}`, ...p.current, effects: p.current, stats: { ...p.stats } };
}

export function createControlServer(t: ControlTarget): http.Server {
  // One database operation at a time: a stop and a start racing would leave either state.
  let dbOp: Promise<unknown> = Promise.resolve();
  const serialDb = (fn: () => Promise<void>) => (dbOp = dbOp.then(fn, fn));

  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const refused = refusal(req.headers, t.token);
    if (refused) {
      // The body is not read: close the connection rather than drain whatever was sent.
      res.setHeader('connection', 'close');
      if (refused.status === 401) res.setHeader('www-authenticate', 'Bearer realm="drillbook-stage"');
      return json(res, refused.status, { error: refused.error });
    }
    const handle = async (): Promise<void> => {
      if (method === 'GET' && path === '/status') return json(res, 200, await t.status());
      if (method === 'GET' && path === '/replicas') return json(res, 200, t.replicas());
      if (method === 'GET' && path === '/proxies') return json(res, 200, [...t.proxies.values()].map(proxyView));
      const pm = /^\/proxies\/([^/]+)$/.exec(path);
      if (pm) {
        const p = t.proxies.get(decodeURIComponent(pm[1]!));
        if (!p) return json(res, 404, { error: `no proxy '${pm[1]}'; proxies: ${[...t.proxies.keys()].join(', ')}` });
        if (method === 'GET') return json(res, 200, proxyView(p));
        if (method === 'DELETE') {
          p.clear();
          return json(res, 200, proxyView(p));
        }
        if (method === 'PUT') {
          let parsed;
          try {
            parsed = parseEffects(await body(req));
          } catch {
            return json(res, 400, { error: 'body is not valid JSON' });
          }
          if (typeof parsed === 'string') return json(res, 400, { error: parsed });
          p.set(parsed);
          return json(res, 200, proxyView(p));
        }
        return json(res, 405, { error: 'use GET, PUT or DELETE' });
      }
      if (method === 'POST' && path === '/db/stop') {
        await serialDb(() => t.stopDatabase());
        return json(res, 200, { postgresql: 'stopped' });
      }
      if (method === 'POST' && path === '/db/crash') {
        await serialDb(() => t.crashDatabase());
        return json(res, 200, { postgresql: 'killed' });
      }
      if (method === 'POST' && path === '/db/start') {
        await serialDb(() => t.startDatabase());
        return json(res, 200, { postgresql: 'started' });
      }
      if (method === 'POST' && path === '/prometheus/reload') {
        await t.reloadPrometheus();
        return json(res, 200, { prometheus: 'reloaded' });
      }
      if (method === 'POST' && path === '/shutdown') {
        json(res, 202, { stage: 'stopping' });
        t.shutdown();
        return;
      }
      if (method === 'GET' && path === '/metrics') {
        const text = await t.registry.metrics();
        res.writeHead(200, { 'content-type': t.registry.contentType });
        res.end(text);
        return;
      }
      json(res, 404, { error: `no ${method} ${path}` });
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: (err as Error).message });
    });
  });
}
