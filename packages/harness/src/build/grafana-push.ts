// `drill build --push <grafana-url>`: each written dashboard goes to Grafana's dashboard API,
// POST <url>/api/dashboards/db with `Authorization: Bearer <token>` (a service account token),
// `overwrite: true` so the uid in the JSON decides which dashboard is replaced. The token comes
// from the environment, never a flag, so it stays out of shell history and process lists.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError, UsageError } from '../errors.ts';

export const GRAFANA_TOKEN_ENV = 'GRAFANA_TOKEN';

export interface PushResult {
  file: string;
  uid: string;
  /** Grafana's answer: the dashboard's URL path and version. */
  url: string;
  version: number;
}

/** Grafana's documented success body for POST /api/dashboards/db. */
interface SaveResponse {
  id?: number;
  uid?: string;
  url?: string;
  status?: string;
  version?: number;
  slug?: string;
  message?: string;
}

export function grafanaToken(env: NodeJS.ProcessEnv = process.env): string {
  const token = env[GRAFANA_TOKEN_ENV]?.trim();
  if (!token)
    throw new UsageError(`--push needs a Grafana service account token in $${GRAFANA_TOKEN_ENV}; set it (export ${GRAFANA_TOKEN_ENV}=…) and run again`);
  return token;
}

/** Posts each dashboard file (paths relative to outDir) in order; stops at the first refusal. */
export async function pushDashboards(
  grafanaUrl: string,
  token: string,
  outDir: string,
  files: readonly string[],
  message = 'drill build',
): Promise<PushResult[]> {
  let base: URL;
  try {
    base = new URL(grafanaUrl);
  } catch {
    throw new UsageError(`--push: '${grafanaUrl}' is not a URL; give Grafana's base URL, e.g. https://grafana.example.com`);
  }
  const endpoint = new URL('api/dashboards/db', base.href.endsWith('/') ? base.href : `${base.href}/`);
  const out: PushResult[] = [];
  for (const file of files) {
    const dashboard = JSON.parse(await readFile(path.join(outDir, file), 'utf8')) as { uid: string; id?: unknown };
    // id null: Grafana finds an existing dashboard by uid (overwrite) or creates one.
    const body = JSON.stringify({ dashboard: { ...dashboard, id: null }, overwrite: true, message });
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
        body,
      });
    } catch (err) {
      throw new EnvironmentError(`--push: Grafana at ${base.origin} did not answer: ${(err as Error).message}`);
    }
    const text = await res.text();
    let answer: SaveResponse = {};
    try {
      answer = JSON.parse(text) as SaveResponse;
    } catch {
      // a proxy's HTML error page: reported below with the status
    }
    if (!res.ok || answer.status !== 'success') {
      const why = answer.message ?? (text.slice(0, 200) || res.statusText);
      const hint =
        res.status === 401 || res.status === 403
          ? `check $${GRAFANA_TOKEN_ENV}: the token needs dashboards:write`
          : res.status === 412
            ? 'another dashboard has this title or uid in the folder'
            : 'see Grafana’s log';
      throw new EnvironmentError(`--push: Grafana refused ${file} (uid ${dashboard.uid}): HTTP ${res.status} ${why}; ${hint}`);
    }
    out.push({ file, uid: answer.uid ?? dashboard.uid, url: answer.url ?? '', version: answer.version ?? 0 });
  }
  return out;
}
