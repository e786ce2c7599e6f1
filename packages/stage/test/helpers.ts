// Shared helpers of the stage tests: state-file inspection and polling.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupAlive } from '../src/proc.ts';
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

export async function promQuery(prometheus: string, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`query ${query} failed`);
  return body.data.result;
}
