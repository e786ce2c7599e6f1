// Client for the local stage host's control API (packages/stage/README.md): the one
// way local providers reach the stage, so a revert written to the journal needs only
// this URL to be carried out by a later process.
import { request } from 'undici';
import type { ProxyEffects } from '@drillbook/stage';

export type { ProxyEffects };

export interface ReplicaInfo {
  name: string;
  pid: number;
  port: number;
  ready: boolean;
  restarts: number;
}

export class StageUnreachable extends Error {}

async function call<T>(controlUrl: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let res;
  try {
    res = await request(new URL(path, controlUrl), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new StageUnreachable(`stage control API at ${controlUrl} did not answer ${method} ${path}: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new Error(`stage control API ${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export const stageControl = {
  replicas: (url: string) => call<ReplicaInfo[]>(url, 'GET', '/replicas'),
  setProxy: (url: string, name: string, effects: ProxyEffects) => call<unknown>(url, 'PUT', `/proxies/${encodeURIComponent(name)}`, effects),
  clearProxy: (url: string, name: string) => call<unknown>(url, 'DELETE', `/proxies/${encodeURIComponent(name)}`),
  getProxy: (url: string, name: string) => call<ProxyEffects & Record<string, unknown>>(url, 'GET', `/proxies/${encodeURIComponent(name)}`),
  stopDatabase: (url: string) => call<unknown>(url, 'POST', '/db/stop'),
  startDatabase: (url: string) => call<unknown>(url, 'POST', '/db/start'),
  crashDatabase: (url: string) => call<unknown>(url, 'POST', '/db/crash'),
  status: (url: string) => call<Array<{ name: string; healthy: boolean; pid?: number; port?: number }>>(url, 'GET', '/status'),
};
