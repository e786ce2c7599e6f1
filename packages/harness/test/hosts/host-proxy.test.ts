// The hosts fault proxy's pure parts: the config fields (listen, upstream, address, the url
// default), the refusal of a proxied fault on a target without one, and which proxy a fault uses.
import { describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/define/config.ts';
import { listenAddress, parseHostPort } from '../../src/define/host-port.ts';
import type { DrillPlan, EnvironmentConfig, FaultSpec, HostTarget } from '../../src/define/types.ts';
import { RealClock } from '../../src/engine/clock.ts';
import type { ProviderContext } from '../../src/engine/types.ts';
import { hostProxyIssues, hostProxyProvider } from '../../src/faults/local/host-proxy.ts';
import { urlBeforeProxy } from '../../src/session/environments/hosts.ts';

const hosts = (targets: Record<string, unknown>) => defineConfig({ environments: { box: { kind: 'hosts', targets } } } as never).environments.box!;
const problem = (targets: Record<string, unknown>) => {
  try {
    hosts(targets);
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('host:port', () => {
  it('reads IPv4, bracketed IPv6 and names; refuses the rest', () => {
    expect(parseHostPort('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('[::1]:5432')).toEqual({ host: '::1', port: 5432 });
    expect(parseHostPort('db.internal:5432')).toEqual({ host: 'db.internal', port: 5432 });
    for (const bad of ['8080', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '::1:5432', 'http://x:1', '256.1.1.1:80', 'a b:1'])
      expect(parseHostPort(bad)).toBeUndefined();
  });

  it('listens on loopback, or another IP written on purpose; never a wildcard or a name', () => {
    expect(listenAddress('localhost:18080')).toEqual({ ok: { host: '127.0.0.1', port: 18080 } });
    expect(listenAddress('[::1]:18080')).toEqual({ ok: { host: '::1', port: 18080 } });
    expect(listenAddress('10.0.0.5:18080')).toEqual({ ok: { host: '10.0.0.5', port: 18080 } });
    expect(listenAddress('0.0.0.0:18080')).toMatchObject({ problem: "'0.0.0.0:18080' would listen on every interface of this machine" });
    expect(listenAddress('[::]:18080')).toMatchObject({ problem: "'[::]:18080' would listen on every interface of this machine" });
    expect(listenAddress('proxy.example:18080')).toMatchObject({ fix: "write '127.0.0.1:18080', or the IP address of this machine the clients reach" });
  });
});

describe('a hosts target with proxy', () => {
  it('takes its url from listen and its upstream from address when they are not written', () => {
    const env = hosts({
      api: { proxy: { listen: '127.0.0.1:18080', upstream: '127.0.0.1:8080' } },
      db: { address: '10.0.0.7:5432', proxy: { listen: '127.0.0.1:15432' } },
      web: { url: 'http://lb.internal/', proxy: { listen: '127.0.0.1:18081', upstream: '10.0.0.8:80' } },
    });
    expect(env).toEqual({
      kind: 'hosts',
      targets: {
        api: { url: 'http://127.0.0.1:18080', proxy: { listen: '127.0.0.1:18080', upstream: '127.0.0.1:8080' } },
        db: { url: 'http://127.0.0.1:15432', address: '10.0.0.7:5432', proxy: { listen: '127.0.0.1:15432', upstream: '10.0.0.7:5432' } },
        web: { url: 'http://lb.internal/', proxy: { listen: '127.0.0.1:18081', upstream: '10.0.0.8:80' } },
      },
    });
  });

  it('is refused with the field named: a wildcard listen, no upstream, an upstream that contradicts address, a loop', () => {
    expect(problem({ api: { proxy: { listen: '0.0.0.0:18080', upstream: '127.0.0.1:8080' } } })).toContain(
      "environments.box.targets.api.proxy.listen: '0.0.0.0:18080' would listen on every interface",
    );
    expect(problem({ api: { proxy: { listen: '127.0.0.1:18080' } } })).toContain(
      'environments.box.targets.api.proxy.upstream: the proxy has nowhere to forward to',
    );
    expect(problem({ db: { address: '10.0.0.7:5432', proxy: { listen: '127.0.0.1:15432', upstream: '10.0.0.8:5432' } } })).toContain(
      "environments.box.targets.db.proxy.upstream: upstream '10.0.0.8:5432' differs from the target's address '10.0.0.7:5432'",
    );
    expect(problem({ api: { proxy: { listen: '127.0.0.1:18080', upstream: '127.0.0.1:18080' } } })).toContain('the proxy would forward to itself');
    expect(problem({ db: { address: 'db' } })).toContain("environments.box.targets.db.address: 'db' is not host:port");
  });

  it('is asked at its upstream by a dry run (the proxy starts with the run), unless url names something else', () => {
    const t = (url: string, listen = '127.0.0.1:18080'): HostTarget => ({ url, proxy: { listen, upstream: '10.0.0.7:8080' } });
    expect(urlBeforeProxy(t('http://127.0.0.1:18080'))).toBe('http://10.0.0.7:8080');
    expect(urlBeforeProxy(t('http://127.0.0.1:18080/api/'))).toBe('http://10.0.0.7:8080/api/');
    expect(urlBeforeProxy(t('http://localhost:18080', 'localhost:18080'))).toBe('http://10.0.0.7:8080');
    expect(urlBeforeProxy(t('http://lb.internal/'))).toBe('http://lb.internal/');
    expect(urlBeforeProxy({ url: 'http://127.0.0.1:9' })).toBe('http://127.0.0.1:9');
  });
});

describe('network and dependency-outage faults on hosts', () => {
  const env = hosts({
    api: { url: 'http://127.0.0.1:8080', address: '127.0.0.1:8080' },
    db: { address: '10.0.0.7:5432', proxy: { listen: '127.0.0.1:15432' } },
  });
  const plan = (...faults: FaultSpec[]) => ({ phases: faults.map((fault, i) => ({ name: `p${i}`, fault })) }) as unknown as DrillPlan;
  const network = (extra: Partial<Extract<FaultSpec, { kind: 'network' }>>): FaultSpec => ({
    kind: 'network',
    target: 'api',
    selection: { mode: 'one' },
    duration: 1_000,
    direction: 'to',
    delay: 100,
    ...extra,
  });

  it('are refused on a target without proxy, naming environments.<env>.targets.<t>.proxy and the fix', () => {
    const issues = hostProxyIssues(plan(network({}), network({ dependency: 'db' }), network({ dependency: 'cache' })), 'box', env);
    expect(issues).toEqual([
      {
        path: 'phases[0].fault',
        problem:
          "a network fault on hosts target 'api' acts through the harness's fault proxy, and environments.box.targets.api.proxy is not set (address alone puts no proxy in front of it)",
        fix: "add proxy: { listen: '127.0.0.1:<free port>', upstream: '<host:port of the real service>' } to environments.box.targets.api in drillbook.config.ts, and point the clients at listen (docs/environments.md)",
      },
      {
        path: 'phases[2].fault.dependency',
        problem: "environment 'box' has no target 'cache' (it has api, db)",
        fix: "name one of its targets, or add 'cache' to environments.box.targets",
      },
    ]);
    expect(hostProxyIssues(plan(network({})), 'box', { kind: 'local' })).toEqual([]);
  });

  it("act on the dependency's proxy when one is named, with an outage as resets both ways", async () => {
    const ctx = {
      environmentName: 'box',
      environment: env as EnvironmentConfig,
      clock: new RealClock(),
      signal: new AbortController().signal,
      log: () => {},
      resolveTarget: (name: string) => ({
        kind: 'host',
        name,
        target: (env as Extract<EnvironmentConfig, { kind: 'hosts' }>).targets[name],
        proxyKey: `s/${name}`,
      }),
    } satisfies ProviderContext;
    const viaDependency = await hostProxyProvider.prepare(network({ dependency: 'db', delay: 300 }), 'f1', ctx);
    expect(viaDependency.data).toEqual({ proxies: ['s/db'], effects: { direction: 'to', delayMs: 300 } });
    expect(viaDependency.description).toBe("clear the harness's fault proxy 127.0.0.1:15432 → 10.0.0.7:5432 (a crashed harness took it with it)");
    const outage = await hostProxyProvider.prepare({ kind: 'dependency-outage', target: 'db', selection: { mode: 'one' }, duration: 1_000 }, 'f2', ctx);
    expect(outage.data).toEqual({ proxies: ['s/db'], effects: { reset: true, direction: 'both' } });
    await expect(hostProxyProvider.prepare(network({}), 'f3', ctx)).rejects.toThrow("target 'api' has no fault proxy running in this harness");
  });
});
