// Client for the local stage host's control API (packages/stage/README.md): the one
// way local providers reach the stage, so a revert written to the journal needs only
// this URL to be carried out by a later process.
// Every call carries the stage's bearer token: given by the caller, or found by controlTokenFor
// (a stage this process started, or the state file of one it did not).
import { request } from 'undici';
import { controlTokenFor, type ProxyEffects } from '@drillbook/stage';

export type { ProxyEffects };

export interface ReplicaInfo {
  name: string;
  pid: number;
  port: number;
  ready: boolean;
  restarts: number;
}

export class StageUnreachable extends Error {}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

async function call<T>(controlUrl: string, method: Method, path: string, body?: unknown, token = controlTokenFor(controlUrl)): Promise<T> {
  // Without a token the request still goes: a stage that is gone must show as StageUnreachable.
  let res;
  try {
    res = await request(new URL(path, controlUrl), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new StageUnreachable(`stage control API at ${controlUrl} did not answer ${method} ${path}: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode === 401) {
    const why = token ? 'the token was refused' : 'no token found for it (no stage.json of a running stage names this control URL)';
    throw new Error(`stage control API ${method} ${path}: HTTP 401; ${why}`);
  }
  if (res.statusCode >= 400) throw new Error(`stage control API ${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const proxyPath = (name: string) => `/proxies/${encodeURIComponent(name)}`;

/** `token` is optional everywhere: without it the token is looked up by the control URL. */
export const stageControl = {
  replicas: (url: string, token?: string) => call<ReplicaInfo[]>(url, 'GET', '/replicas', undefined, token),
  setProxy: (url: string, name: string, effects: ProxyEffects, token?: string) => call<unknown>(url, 'PUT', proxyPath(name), effects, token),
  clearProxy: (url: string, name: string, token?: string) => call<unknown>(url, 'DELETE', proxyPath(name), undefined, token),
  getProxy: (url: string, name: string, token?: string) => call<ProxyEffects & Record<string, unknown>>(url, 'GET', proxyPath(name), undefined, token),
  stopDatabase: (url: string, token?: string) => call<unknown>(url, 'POST', '/db/stop', undefined, token),
  startDatabase: (url: string, token?: string) => call<unknown>(url, 'POST', '/db/start', undefined, token),
  crashDatabase: (url: string, token?: string) => call<unknown>(url, 'POST', '/db/crash', undefined, token),
  status: (url: string, token?: string) =>
    call<Array<{ name: string; healthy: boolean; pid?: number; port?: number }>>(url, 'GET', '/status', undefined, token),
};
