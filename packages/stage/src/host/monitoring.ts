// Generated configuration and launch of Prometheus and Alertmanager (Debian's binaries).
// JSON is valid YAML, so the configs are written with JSON.stringify. Both sit behind basic
// auth (--web.config.file), Prometheus has no lifecycle API, and the files naming
// credentials are 0600 in 0700 dirs.
import { join } from 'node:path';
import { basicAuthHeader, privateDir, webConfig, writePrivateFile, type BasicAuth } from '../secrets.ts';
import { spawnChild, type Child } from './children.ts';

/** The scrape job of the service's replicas (the synthetic history labels its series with it). */
export const SERVICE_JOB = 'graph-api';

export interface PrometheusConfigInput {
  scrapeIntervalMs: number;
  evaluationIntervalMs: number;
  rulesDir?: string;
  alertmanagerPort: number;
  replicas: Array<{ name: string; port: number }>;
  hostPort: number;
  /** Bearer token of the host's control API, whose /metrics Prometheus scrapes. */
  hostToken: string;
  alertmanagerAuth: BasicAuth;
  /** Labels on every alert this Prometheus sends: the harness accepts only alerts that carry them. */
  externalLabels: Record<string, string>;
  /** More jobs to scrape, e.g. the harness's own /metrics (fault windows for dashboards). */
  extraScrapeTargets?: Array<{ job: string; target: string }>;
}

export function prometheusConfig(i: PrometheusConfigInput): object {
  return {
    global: {
      scrape_interval: `${i.scrapeIntervalMs}ms`,
      scrape_timeout: `${i.scrapeIntervalMs}ms`,
      evaluation_interval: `${i.evaluationIntervalMs}ms`,
      external_labels: i.externalLabels,
    },
    rule_files: i.rulesDir ? [join(i.rulesDir, '*.yaml'), join(i.rulesDir, '*.yml')] : [],
    alerting: { alertmanagers: [{ basic_auth: i.alertmanagerAuth, static_configs: [{ targets: [`127.0.0.1:${i.alertmanagerPort}`] }] }] },
    scrape_configs: [
      {
        // Replicas are scraped directly (as Prometheus scrapes pods), not through the fault proxies.
        job_name: SERVICE_JOB,
        static_configs: i.replicas.map((r) => ({ targets: [`127.0.0.1:${r.port}`], labels: { replica: r.name } })),
      },
      // Balancer and supervisor live in the stage host and share its /metrics.
      { job_name: 'stage', authorization: { credentials: i.hostToken }, static_configs: [{ targets: [`127.0.0.1:${i.hostPort}`] }] },
      ...(i.extraScrapeTargets ?? []).map((t) => ({ job_name: t.job, static_configs: [{ targets: [t.target] }] })),
    ],
  };
}

export interface WebhookReceiver {
  url: string;
  /** Receiver name (per stage, so the harness can tell this stage's notifications from others'). */
  name: string;
  /** Sent as `Authorization: Bearer <token>` with every notification. */
  token?: string;
}

export function alertmanagerConfig(webhook: WebhookReceiver | undefined): object {
  const webhookConfig = webhook && {
    url: webhook.url,
    send_resolved: true,
    ...(webhook.token ? { http_config: { authorization: { type: 'Bearer', credentials: webhook.token } } } : {}),
  };
  return {
    route: {
      receiver: webhook ? webhook.name : 'discard',
      group_by: ['alertname'],
      // Drills measure time to detect: no batching delay worth speaking of.
      group_wait: '1s',
      group_interval: '1s',
      repeat_interval: '1h',
    },
    receivers: webhook ? [{ name: webhook.name, webhook_configs: [webhookConfig] }] : [{ name: 'discard' }],
  };
}

/** Writes the config and the web config (basic-auth users) 0600 into a 0700 dir; returns their paths. */
function writeConfigs(dir: string, name: string, config: object, users: BasicAuth[]): { config: string; web: string; data: string } {
  privateDir(dir);
  const data = privateDir(join(dir, 'data'));
  const files = { config: join(dir, `${name}.yml`), web: join(dir, 'web.yml'), data };
  writePrivateFile(files.config, JSON.stringify(config, null, 2));
  writePrivateFile(files.web, JSON.stringify(webConfig(users), null, 2));
  return files;
}

// The lifecycle API stays off (no /-/quit, no /-/reload over HTTP); the host reloads Prometheus with SIGHUP.
export function startPrometheus(bin: string, dir: string, port: number, config: object, auth: BasicAuth): Child {
  const f = writeConfigs(dir, 'prometheus', config, [auth]);
  return spawnChild(
    'prometheus',
    bin,
    [`--config.file=${f.config}`, `--web.config.file=${f.web}`, `--storage.tsdb.path=${f.data}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { logFile: join(dir, 'prometheus.log'), cwd: dir },
  );
}

export function startAlertmanager(bin: string, dir: string, port: number, config: object, auth: BasicAuth): Child {
  const f = writeConfigs(dir, 'alertmanager', config, [auth]);
  return spawnChild(
    'alertmanager',
    bin,
    [
      `--config.file=${f.config}`,
      `--web.config.file=${f.web}`,
      `--storage.path=${f.data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Empty: no gossip cluster, no extra port.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { logFile: join(dir, 'alertmanager.log'), cwd: dir },
  );
}

export async function httpOk(url: string, auth?: BasicAuth, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await fetch(url, { headers: auth ? { authorization: basicAuthHeader(auth) } : {}, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** One sample of a metric without labels from a Prometheus-format text, or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined
    ? undefined
    : Number(
        line
          .slice(name.length + 1)
          .trim()
          .split(' ')[0],
      );
}

/**
 * Reloads Prometheus's configuration with SIGHUP (the lifecycle API is off) and waits for
 * the outcome in its own metrics: a newer success timestamp, or a failed last reload.
 */
export async function reloadPrometheus(child: Child, baseUrl: string, auth: BasicAuth, timeoutMs = 10_000): Promise<void> {
  const read = async () => {
    const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: basicAuthHeader(auth) }, signal: AbortSignal.timeout(2_000) });
    if (!res.ok) throw new Error(`Prometheus /metrics answered ${res.status}`);
    const text = await res.text();
    return {
      ok: metricValue(text, 'prometheus_config_last_reload_successful'),
      at: metricValue(text, 'prometheus_config_last_reload_success_timestamp_seconds') ?? 0,
    };
  };
  const before = await read();
  child.proc.kill('SIGHUP');
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await read();
    if (now.at > before.at && now.ok === 1) return;
    if (now.ok === 0 && before.ok === 1) throw new Error("Prometheus could not load its configuration; see prometheus.log in the stage's monitoring dir");
  }
  throw new Error(`Prometheus did not report a reload within ${timeoutMs / 1000} s of SIGHUP`);
}
