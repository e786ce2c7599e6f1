// Shared helpers of the stage tests: state-file inspection and polling.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupAlive } from '../src/proc.ts';
import { basicAuthHeader } from '../src/secrets.ts';
import type { Stage } from '../src/index.ts';
import type { StageState } from '../src/state.ts';

export const tempStateDir = (): string => mkdtempSync(join(tmpdir(), 'drillbook-stage-test-'));

/** Process groups and temp dirs of a recorded stage that still exist. */
export function leftovers(state: StageState): { groups: string[]; dirs: string[] } {
  return {
    groups: state.processes.filter((p) => groupAlive(p.pgid)).map((p) => `${p.name}:${p.pid}`),
    dirs: state.tempDirs.filter((d) => existsSync(d)),
  };
}

export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, stepMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** fetch with the stage's bearer token, for its control API. */
export function controlFetch(stage: Pick<Stage, 'controlToken'>): (url: string, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${stage.controlToken}` } });
}

/** fetch with the stage's basic-auth credentials of Prometheus (or Alertmanager). */
export function monitoringFetch(stage: Pick<Stage, 'auth'>, which: 'prometheus' | 'alertmanager' = 'prometheus') {
  return (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: basicAuthHeader(stage.auth[which]) } });
}

type Sample = { metric: Record<string, string>; value: [number, string] };

export async function promQuery(stage: Pick<Stage, 'urls' | 'auth'>, query: string): Promise<Sample[]> {
  const res = await monitoringFetch(stage)(`${stage.urls.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`query ${query} failed`);
  return body.data.result;
}
