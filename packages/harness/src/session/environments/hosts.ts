// The `hosts` environment: a team's service already running on hosts the harness reaches;
// faults act on its processes and proxies, Prometheus is theirs.
import type { EnvironmentConfig } from '../../define/types.ts';
import { EnvironmentError } from '../../errors.ts';
import type { LocalTarget } from '../../faults/local/targets.ts';
import { PrometheusClient } from '../../observe/prometheus.ts';
import { selectTraceSource } from '../../observe/trace-backends.ts';
import type { OpenEnvironment, OpenOptions } from '../environment.ts';
import { fixedWebhook, openTelemetry } from './telemetry.ts';

export async function openHosts(name: string, config: Extract<EnvironmentConfig, { kind: 'hosts' }>, opts: OpenOptions): Promise<OpenEnvironment> {
  const prometheus = config.prometheus ? new PrometheusClient(config.prometheus) : undefined;
  const t = await openTelemetry(opts.clock, prometheus, [], fixedWebhook(config));
  const lookup = (target: string): LocalTarget => {
    const host = config.targets[target];
    if (!host) throw new EnvironmentError(`environment '${name}' has targets ${Object.keys(config.targets).join(', ')}; there is no '${target}'`);
    return { kind: 'host', name: target, target: host };
  };
  const url = (target: string) => {
    const u = config.targets[target]?.url;
    if (!u) throw new EnvironmentError(`target '${target}' of environment '${name}' has no url`);
    return u;
  };
  return {
    name,
    config,
    prometheus,
    ...t.receivers,
    traceSource: selectTraceSource(config.traces, t.traces),
    targetUrl: url,
    databaseUrl: url,
    resolveTarget: lookup,
    ...(config.alertmanager ? { alertmanager: { url: config.alertmanager, headers: {} } } : {}),
    urls: { ...(config.prometheus ? { prometheus: config.prometheus } : {}), telemetry: t.telemetryUrl, alertWebhook: t.webhookUrl },
    facts: {},
    async close() {
      await t.close();
    },
  };
}
