// The `hosts` environment: a team's service already running on hosts the harness reaches;
// faults act on its processes and on the TCP fault proxies this opens in front of targets that
// ask for one (`proxy`), Prometheus is theirs. The proxies live in this process for the run:
// closed at the end, and a crashed harness takes them with it (nothing for `drill recover`).
import { randomBytes } from 'node:crypto';
import type { EnvironmentConfig, HostTarget } from '../../define/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { startLiveProxy } from '../../faults/live-proxies.ts';
import type { LocalTarget } from '../../faults/local/targets.ts';
import { formatHostPort, listenAddress, parseHostPort } from '../../define/host-port.ts';
import { PrometheusClient } from '../../observe/prometheus.ts';
import { selectTraceSource } from '../../observe/trace-backends.ts';
import type { OpenEnvironment, OpenOptions } from '../environment.ts';
import { fixedWebhook, openTelemetry } from './telemetry.ts';

export async function openHosts(name: string, config: Extract<EnvironmentConfig, { kind: 'hosts' }>, opts: OpenOptions): Promise<OpenEnvironment> {
  const prometheus = config.prometheus ? new PrometheusClient(config.prometheus) : undefined;
  const t = await openTelemetry(opts.clock, prometheus, [], fixedWebhook(config));
  let proxies: HostProxies;
  try {
    proxies = await startProxies(name, config, opts.log);
  } catch (err) {
    await t.close();
    throw err;
  }
  const lookup = (target: string): LocalTarget => {
    const host = config.targets[target];
    if (!host) throw new EnvironmentError(`environment '${name}' has targets ${Object.keys(config.targets).join(', ')}; there is no '${target}'`);
    return { kind: 'host', name: target, target: host, ...(proxies.keys[target] ? { proxyKey: proxies.keys[target] } : {}) };
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
    urls: {
      ...(config.prometheus ? { prometheus: config.prometheus } : {}),
      ...proxyUrls(config),
      telemetry: t.telemetryUrl,
      alertWebhook: t.webhookUrl,
    },
    facts: {},
    async close() {
      await proxies.stop();
      await t.close();
    },
  };
}

type HostsConfig = Extract<EnvironmentConfig, { kind: 'hosts' }>;

/** `proxy api` → `127.0.0.1:18080 → 10.0.0.7:8080`, for the summary and the record. */
function proxyUrls(config: HostsConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [target, host] of Object.entries(config.targets)) if (host.proxy) out[`proxy ${target}`] = `${host.proxy.listen} → ${host.proxy.upstream}`;
  return out;
}

interface HostProxies {
  /** Each proxied target's key in liveProxies. */
  keys: Record<string, string>;
  stop(): Promise<void>;
}

/** One FaultProxy per target with `proxy`, in liveProxies for the providers. All or none. */
async function startProxies(envName: string, config: HostsConfig, log: (line: string) => void): Promise<HostProxies> {
  const { FaultProxy } = await import('@drillbook/stage');
  const session = `hosts-${randomBytes(4).toString('hex')}`;
  const keys: Record<string, string> = {};
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0)) await s();
  };
  for (const [target, host] of Object.entries(config.targets)) {
    if (!host.proxy) continue;
    const field = `environments.${envName}.targets.${target}.proxy`;
    // The schema checked both; checked again here because a config may reach this without it (tests, a journal).
    const listen = listenAddress(host.proxy.listen);
    const upstream = parseHostPort(host.proxy.upstream);
    if ('problem' in listen || !upstream) {
      await stop();
      throw new EnvironmentError(`${field}: ${'problem' in listen ? `listen ${listen.problem}` : `upstream '${host.proxy.upstream}' is not host:port`}`);
    }
    const key = `${session}/${target}`;
    try {
      stops.push(await startLiveProxy(key, new FaultProxy(`${envName}/${target}`, upstream, listen.ok.port, listen.ok.host)));
    } catch (err) {
      await stop();
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'the port is taken' : code === 'EADDRNOTAVAIL' ? 'that address is not one of this machine' : (err as Error).message;
      throw new EnvironmentError(`${field}.listen: the fault proxy cannot listen on ${host.proxy.listen}: ${why}`);
    }
    keys[target] = key;
    log(`fault proxy for ${target}: ${host.proxy.listen} → ${host.proxy.upstream}`);
  }
  return { keys, stop };
}

/**
 * The URL a dry run checks for a target: its url, or with a proxy that is not running yet (the
 * run starts it) the same URL at the upstream, so the dry run still asks the real service.
 */
export function urlBeforeProxy(host: HostTarget | undefined): string | undefined {
  if (!host?.url || !host.proxy) return host?.url;
  const u = new URL(host.url);
  const listen = parseHostPort(host.proxy.listen);
  const upstream = parseHostPort(host.proxy.upstream);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  if (!listen || !upstream || u.hostname.replace(/^\[|\]$/g, '') !== listen.host || port !== listen.port) return host.url;
  u.host = formatHostPort(upstream);
  return u.toString().replace(/\/$/, host.url.endsWith('/') ? '/' : '');
}
