// Generated configuration and launch of Prometheus and Alertmanager (Debian's binaries).
// JSON is valid YAML, so the configs are written with JSON.stringify.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, type Child } from './children.ts';

export interface PrometheusConfigInput {
  scrapeIntervalMs: number;
  evaluationIntervalMs: number;
  rulesDir?: string;
  alertmanagerPort: number;
  replicas: Array<{ name: string; port: number }>;
  hostPort: number;
  /** More jobs to scrape, e.g. the harness's own /metrics (fault windows for dashboards). */
  extraScrapeTargets?: Array<{ job: string; target: string }>;
}

export function prometheusConfig(i: PrometheusConfigInput): object {
  return {
    global: {
      scrape_interval: `${i.scrapeIntervalMs}ms`,
      scrape_timeout: `${i.scrapeIntervalMs}ms`,
      evaluation_interval: `${i.evaluationIntervalMs}ms`,
    },
    rule_files: i.rulesDir ? [join(i.rulesDir, '*.yaml'), join(i.rulesDir, '*.yml')] : [],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${i.alertmanagerPort}`] }] }] },
    scrape_configs: [
      {
        // Replicas are scraped directly (as Prometheus scrapes pods), not through the fault proxies.
        job_name: 'graph-api',
        static_configs: i.replicas.map((r) => ({ targets: [`127.0.0.1:${r.port}`], labels: { replica: r.name } })),
      },
      // Balancer and supervisor live in the stage host and share its /metrics.
      { job_name: 'stage', static_configs: [{ targets: [`127.0.0.1:${i.hostPort}`] }] },
      ...(i.extraScrapeTargets ?? []).map((t) => ({ job_name: t.job, static_configs: [{ targets: [t.target] }] })),
    ],
  };
}

export function alertmanagerConfig(webhookUrl: string | undefined): object {
  return {
    route: {
      receiver: webhookUrl ? 'drillbook' : 'discard',
      group_by: ['alertname'],
      // Drills measure time to detect: no batching delay worth speaking of.
      group_wait: '1s',
      group_interval: '1s',
      repeat_interval: '1h',
    },
    receivers: webhookUrl ? [{ name: 'drillbook', webhook_configs: [{ url: webhookUrl, send_resolved: true }] }] : [{ name: 'discard' }],
  };
}

export function startPrometheus(bin: string, dir: string, port: number, config: object): Child {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return spawnChild(
    'prometheus',
    bin,
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    { logFile: join(dir, 'prometheus.log'), cwd: dir },
  );
}

export function startAlertmanager(bin: string, dir: string, port: number, config: object): Child {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const file = join(dir, 'alertmanager.yml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return spawnChild(
    'alertmanager',
    bin,
    [
      `--config.file=${file}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Empty: no gossip cluster, no extra port.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { logFile: join(dir, 'alertmanager.log'), cwd: dir },
  );
}

export async function httpOk(url: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
