// The `containers` environment: a team's own images run on this machine's Docker engine by
// testcontainers, for CI that has Docker and no cluster. Containers share the host's network
// and listen on loopback ports the harness picks; probes and load reach each service through
// a fault proxy and a round-robin balancer, and every dependsOn edge through a fault proxy too.
// Everything created carries the run's labels, so a crashed run's leftovers are swept.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ContainerService, ContainersEnvironment } from '../../define/config.ts';
import { EnvironmentError } from '../../errors.ts';
import { Balancer } from '../../faults/containers/balancer.ts';
import { connectEngine, followEvents, LABELS, sessionLabels, sweep, type ContainerEvent, type Dockerode } from '../../faults/containers/docker.ts';
import { proxyKey, type ContainerReplica, type ContainerTarget } from '../../faults/containers/targets.ts';
import { startLiveProxy } from '../../faults/live-proxies.ts';
import { fillEnvironment, startOrder } from '../../faults/containers/template.ts';
import { PrometheusClient } from '../../observe/prometheus.ts';
import { selectTraceSource } from '../../observe/trace-backends.ts';
import type { OpenEnvironment, OpenOptions } from '../environment.ts';
import { buildLocalRules } from '../local-rules.ts';
import { openTelemetry } from './telemetry.ts';

const DEFAULT_STARTUP_MS = 60_000;
/** Docker events kept for the record: a restart loop must not grow the record without bound. */
const MAX_EVENTS = 2_000;

type Started = { stop(opts?: { remove?: boolean; removeVolumes?: boolean; timeout?: number }): Promise<unknown>; getId(): string; getName(): string };
type Closer = () => Promise<unknown>;

/** A free loopback port for a replica to bind, from below the ephemeral range (as the stage picks its children's). */
async function pickPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new EnvironmentError('no free loopback port found for a container after 50 tries');
}

/** Polls an HTTP health path until it answers 2xx, within the service's start-up time. */
async function waitHealthy(url: string, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < end) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new EnvironmentError(`${what} did not become healthy at ${url} within ${timeoutMs / 1000} s (last: ${last})`);
}

async function requireImage(docker: Dockerode, image: string, service: string): Promise<void> {
  const here = await docker
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (!here)
    throw new EnvironmentError(
      `service '${service}': image '${image}' is not on this machine and nothing is pulled; build or load it first (docker build -t ${image} ., docker load), see docs/containers.md`,
    );
}

interface ReplicaPlan {
  service: string;
  replica: number;
  ports: Record<string, number>;
}

async function startReplica(
  tc: typeof import('testcontainers'),
  docker: Dockerode,
  s: ContainerService,
  plan: ReplicaPlan,
  env: Record<string, string>,
  labels: Record<string, string>,
  name: string,
): Promise<Started> {
  const startupMs = s.startupTimeout ?? DEFAULT_STARTUP_MS;
  let g = new tc.GenericContainer(s.image)
    .withName(name)
    .withNetworkMode('host')
    .withLabels({ ...labels, [LABELS.service]: plan.service, [LABELS.replica]: String(plan.replica) })
    .withEnvironment(env)
    .withStartupTimeout(startupMs)
    // Without a log line to wait for, the wait is the HTTP check below (host networking publishes no ports to check).
    .withWaitStrategy(s.health?.log ? tc.Wait.forLogMessage(s.health.log) : tc.Wait.forListeningPorts());
  if (s.command) g = g.withCommand(s.command);
  if (s.user) g = g.withUser(s.user);
  const container = await g.start();
  // testcontainers has no restart policy; the engine takes one on a created container.
  const restart = s.restart ?? 'always';
  if (restart !== 'no') await docker.getContainer(container.getId()).update({ RestartPolicy: { Name: restart } });
  if (s.health?.http) {
    const port = plan.ports[s.health.port ?? s.ports[0]!];
    await waitHealthy(`http://127.0.0.1:${port}${s.health.http}`, startupMs, `container ${name}`);
  }
  return container;
}

export async function openContainers(name: string, config: ContainersEnvironment, opts: OpenOptions): Promise<OpenEnvironment> {
  const engine = await connectEngine();
  const left = await sweep(engine.docker);
  if (left.containers.length + left.networks.length + left.volumes.length)
    opts.log(
      `removed what runs whose harness is gone left: ${left.containers.length} containers, ${left.networks.length} networks, ${left.volumes.length} volumes`,
    );
  for (const [service, s] of Object.entries(config.services)) await requireImage(engine.docker, s.image, service);

  const tc = await import('testcontainers');
  const session = randomBytes(4).toString('hex');
  const labels = sessionLabels(session);
  const events: ContainerEvent[] = [];
  const facts: Record<string, unknown> = { containers: { session, engine: engine.serverVersion, reaper: engine.reaper, network: 'host', events } };
  const closers: Closer[] = []; // run in reverse order on close, also after a failed start
  const close = async () => {
    const errors: string[] = [];
    for (const c of closers.reverse()) await c().catch((err: Error) => errors.push(err.message));
    closers.length = 0;
    // Whatever a step above could not stop: the labels find it.
    await sweep(engine.docker, { session }).catch((err: Error) => errors.push(err.message));
    if (errors.length) opts.log(`closing the containers environment: ${errors.join('; ')}`);
  };
  const stopEvents = await followEvents(engine.docker, session, (e) => {
    if (events.length < MAX_EVENTS) events.push(e);
  });
  closers.push(async () => stopEvents());

  const telemetryServices = Object.keys(config.services);
  const t = await openTelemetry(opts.clock, undefined, telemetryServices);
  closers.push(() => t.close());
  const targets: Record<string, ContainerTarget> = {};
  const fronts: Record<string, string> = {};
  const metricsTargets: Array<{ job: string; target: string }> = [];
  let stage: Awaited<ReturnType<(typeof import('@drillbook/stage'))['startStage']>> | undefined;
  try {
    const { FaultProxy } = await import('@drillbook/stage');
    const taken = new Set<number>();
    const order = startOrder(config.services);
    for (const service of order) targets[service] = { kind: 'container-service', name: service, replicas: [], inbound: [], outbound: {} };
    const balancers: Record<string, Balancer> = {};
    const proxy = async (from: string, to: string, port: string) => {
      const key = proxyKey(session, from, to, port);
      const p = new FaultProxy(`${from}->${to}.${port}`, { host: '127.0.0.1', port: balancers[`${to}.${port}`]!.port });
      closers.push(await startLiveProxy(key, p));
      targets[to]!.inbound.push(key);
      return { key, port: p.port };
    };
    for (const service of order) {
      const s = config.services[service]!;
      const replicas = s.replicas ?? 1;
      const plans: ReplicaPlan[] = [];
      for (let i = 1; i <= replicas; i++) {
        const ports: Record<string, number> = {};
        for (const p of s.ports) ports[p] = await pickPort(taken);
        plans.push({ service, replica: i, ports });
      }
      // Its dependencies' proxies exist before it starts: their addresses go into its environment.
      const addresses: Record<string, string> = {};
      for (const dep of s.dependsOn ?? [])
        for (const port of config.services[dep]!.ports) {
          const p = await proxy(service, dep, port);
          addresses[`${dep}.${port}`] = `127.0.0.1:${p.port}`;
          (targets[service]!.outbound[dep] ??= []).push(p.key);
        }
      for (const plan of plans) {
        const env = fillEnvironment(s.env ?? {}, {
          ports: plan.ports,
          addresses,
          otlp: { url: `${t.telemetryUrl}/v1/traces`, authorization: t.telemetryHeaders.authorization },
        });
        const cname = `drillbook-${session}-${service}-${plan.replica}`;
        opts.log(`starting container ${cname} (${s.image})…`);
        const started = await startReplica(tc, engine.docker, s, plan, env, labels, cname).catch((err: Error) => {
          throw err instanceof EnvironmentError ? err : new EnvironmentError(`container ${cname} (${s.image}) did not start: ${err.message}`);
        });
        // A short grace: a service that ignores SIGTERM (Node as pid 1) would otherwise hold every teardown for 10 s.
        closers.push(() => started.stop({ remove: true, removeVolumes: true, timeout: 2_000 }));
        const replica: ContainerReplica = { name: cname, id: started.getId(), replica: plan.replica, ports: plan.ports };
        targets[service]!.replicas.push(replica);
        if (plan.ports.metrics) metricsTargets.push({ job: `${service}-${plan.replica}`, target: `127.0.0.1:${plan.ports.metrics}` });
      }
      for (const port of s.ports) {
        const b = new Balancer(
          `${service}.${port}`,
          plans.map((p) => p.ports[port]!),
        );
        await b.start();
        balancers[`${service}.${port}`] = b;
        closers.push(() => b.stop());
      }
      // Probes and load reach the service's first port through the harness's own proxy.
      const front = await proxy('harness', service, s.ports[0]!);
      fronts[service] = `http://127.0.0.1:${front.port}`;
    }
    if ((config.monitoring ?? 'stage') === 'stage') stage = await startMonitoring(opts, t, metricsTargets, closers);
  } catch (err) {
    await close();
    throw err;
  }

  const prometheus = stage ? new PrometheusClient(stage.urls.prometheus, undefined, stage.auth.prometheus) : undefined;
  if (stage && prometheus) {
    t.alerts.usePrometheus(prometheus);
    t.alerts.acceptOnly({ receiver: stage.alertReceiver, externalLabels: stage.externalLabels });
  }
  const lookup = (target: string): ContainerTarget => {
    const found = targets[target];
    if (!found) throw new EnvironmentError(`environment '${name}' has services ${Object.keys(targets).join(', ')}; there is no '${target}'`);
    return found;
  };
  const url = (target: string) => {
    lookup(target);
    return fronts[target]!;
  };
  return {
    name,
    config,
    prometheus,
    ...t.receivers,
    traceSource: selectTraceSource(undefined, t.traces),
    targetUrl: url,
    databaseUrl: url,
    resolveTarget: lookup,
    ...(stage
      ? {
          alertmanager: {
            url: stage.urls.alertmanager,
            headers: { authorization: `Basic ${Buffer.from(`${stage.auth.alertmanager.username}:${stage.auth.alertmanager.password}`).toString('base64')}` },
          },
        }
      : {}),
    urls: {
      ...Object.fromEntries(Object.entries(fronts).map(([s, u]) => [`service ${s}`, u])),
      ...(stage ? { prometheus: stage.urls.prometheus, alertmanager: stage.urls.alertmanager } : {}),
      telemetry: t.telemetryUrl,
    },
    facts,
    close,
  };
}

/** The local stage's Prometheus and Alertmanager (host processes on loopback) with the project's rules, scraping the containers' metrics ports. */
async function startMonitoring(
  opts: OpenOptions,
  t: Awaited<ReturnType<typeof openTelemetry>>,
  metricsTargets: Array<{ job: string; target: string }>,
  closers: Closer[],
) {
  const { startStage, ownStateDir } = await import('@drillbook/stage');
  const rules = await buildLocalRules(opts.projectRoot, opts.log);
  if (!rules.ok) throw new EnvironmentError(rules.message);
  const own = await ownStateDir(join(opts.projectRoot, '.drillbook', 'stage'));
  closers.push(async () => rmSync(own.dir, { recursive: true, force: true }));
  opts.log('starting the local stage for its Prometheus and Alertmanager…');
  const stage = await startStage({
    rulesDir: rules.rulesDir,
    alertWebhookUrl: t.webhookUrl,
    alertWebhookToken: t.alerts.webhookToken,
    extraScrapeTargets: [{ job: 'drillbook', target: new URL(t.telemetryUrl).host }, ...metricsTargets],
    stateDir: own.dir,
    log: opts.log,
  });
  closers.push(() => stage.stop());
  return stage;
}
