// The stage host: one Node process that owns the balancer, supervisor, fault proxies and
// control API, and starts PostgreSQL, the replicas, Prometheus and Alertmanager as children.
// Started by startStage(); options arrive as JSON in a 0600 file named by
// DRILLBOOK_STAGE_OPTIONS_FILE (read, then removed: they may hold tokens), progress goes
// back as JSON lines on fd 3. With a lifeline, EOF on stdin (the parent died) stops it all.
import { chmodSync, createWriteStream, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeArgsFor, packageDir } from '../node-entry.ts';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { EnvironmentError, stageBinaries } from '../binaries.ts';
import { FaultProxy } from '../fault-proxy.ts';
import { freePort, listenOnLoopback } from '../ports.ts';
import { childEnv, startTimeOf, waitUntil } from '../proc.ts';
import { privateDir, randomSecret, type BasicAuth } from '../secrets.ts';
import { removeState, writeState, type StageSecrets, type StageState, type StageUrls } from '../state.ts';
import { Balancer } from './balancer.ts';
import { stopChild, type Child } from './children.ts';
import { createControlServer, type ComponentStatus } from './control.ts';
import { serviceTargets, writeHistory, type HistoryOptions } from './history.ts';
import { alertmanagerConfig, httpOk, prometheusConfig, reloadPrometheus, SERVICE_JOB, startAlertmanager, startPrometheus } from './monitoring.ts';
import { canQuery, databaseUrl, initCluster, migrate, startPostgres, stopPostgres, type PostgresPaths } from './postgres.ts';
import { Supervisor } from './supervisor.ts';

export interface HostOptions {
  replicas: number;
  restartDelay: number;
  scrapeInterval: number;
  evaluationInterval: number;
  rulesDir?: string;
  alertWebhookUrl?: string;
  /** Bearer token Alertmanager sends with each webhook notification. */
  alertWebhookToken?: string;
  otlpTracesUrl?: string;
  /** Headers the replicas send with OTLP exports. */
  otlpHeaders?: Record<string, string>;
  faroCollectorUrl?: string;
  /** Headers the page's Faro transport sends. */
  faroHeaders?: Record<string, string>;
  extraScrapeTargets?: Array<{ job: string; target: string }>;
  /** Synthetic healthy history written into Prometheus before it starts. */
  history?: HistoryOptions;
  archiveTimeout: number;
  stateDir: string;
  lifeline: boolean;
  env: Record<string, string>;
}

const repoRoot = resolve(packageDir, '..', '..');
const DB_NAME = 'graph';

// fd 3 is the pipe to whoever started us; it may be gone (detached `up` returned): ignore errors.
let channel: WriteStream | undefined;
try {
  channel = createWriteStream('', { fd: 3 });
  channel.on('error', () => (channel = undefined));
} catch {
  channel = undefined;
}
function message(m: object): void {
  channel?.write(JSON.stringify(m) + '\n');
}
function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  message({ type: 'log', line });
}

function readOptions(): HostOptions {
  const file = process.env.DRILLBOOK_STAGE_OPTIONS_FILE;
  if (!file) throw new Error('DRILLBOOK_STAGE_OPTIONS_FILE is not set: the stage host is started by startStage()');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HostOptions;
  } finally {
    rmSync(file, { force: true });
  }
}
const opts = readOptions();
const started = Date.now();
// 0700: the state file names every credential of the stage. (Nothing of PostgreSQL's lives
// here: its data dir, socket and WAL archive are in the temp dir below.)
const stateDir = privateDir(resolve(opts.stateDir));
// This stage's credentials; they leave the host only through the state file and the ready message.
const secrets: StageSecrets = {
  controlToken: randomSecret(),
  prometheus: { username: 'drillbook', password: randomSecret() },
  alertmanager: { username: 'drillbook', password: randomSecret() },
};
const dbPassword = randomSecret();
const stageId = randomSecret(9);
const externalLabels = { drillbook_stage: stageId };
const tempRoot = mkdtempSync(join(tmpdir(), 'drillbook-stage-'));
// mkdtemp makes it 0700; the postgres user must be able to reach its data dir inside.
chmodSync(tempRoot, 0o711);
// The archive lives beside the data dir in the stage's own temp dir (0711, reachable by
// the postgres user whatever the state dir's parents allow); a DR drill destroys pgdata only.
const walArchive = join(tempRoot, 'wal-archive');

const state: StageState = {
  version: 1,
  hostPid: process.pid,
  startedAt: new Date(started).toISOString(),
  ready: false,
  processes: [{ name: 'host', pid: process.pid, pgid: process.pid, startTime: startTimeOf(process.pid) }],
  tempDirs: [tempRoot],
  secrets,
  externalLabels,
  alertReceiver: opts.alertWebhookUrl ? `drillbook-${stageId}` : '',
};
// Children whose records must be in the state file (replicas come from the supervisor).
const children = new Map<string, Child>();
let supervisor: Supervisor | undefined;
function saveState(): void {
  state.processes = [state.processes[0]!, ...[...children.values()].map((c) => c.record), ...(supervisor?.records() ?? [])];
  writeState(stateDir, state);
}
saveState();

let shuttingDown: Promise<void> | undefined;
const cleanups: Array<() => Promise<void>> = [];

function shutdown(reason: string): Promise<void> {
  shuttingDown ??= (async () => {
    log(`stopping the stage: ${reason}`);
    // Reverse start order: the supervisor first, so nothing is restarted while we stop.
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    rmSync(tempRoot, { recursive: true, force: true });
    removeState(stateDir);
    log('stage stopped');
    process.exit(0);
  })();
  return shuttingDown;
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGHUP', () => void shutdown('SIGHUP'));
if (opts.lifeline) {
  // The lifeline: our parent holds the write end of stdin; EOF means it is gone.
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => void shutdown('parent process gone (lifeline closed)'));
  process.stdin.on('error', () => void shutdown('parent process gone (lifeline error)'));
}

async function main(): Promise<void> {
  const bins = stageBinaries();
  const n = Math.max(1, Math.floor(opts.replicas));
  const names = Array.from({ length: n }, (_, i) => `replica-${i + 1}`);
  // Ports for the children; the host's own servers (control, balancer, proxies) take port 0.
  const [pgPort, promPort, amPort] = [await freePort(), await freePort(), await freePort()];
  const replicaPorts: number[] = [];
  for (const _ of names) replicaPorts.push(await freePort());

  // --- metrics of balancer and supervisor (the host's /metrics) ---
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stage_host_' });
  const balancerRequests = new Counter({
    name: 'stage_balancer_requests_total',
    help: 'Requests the balancer forwarded, by replica and status code',
    labelNames: ['replica', 'code'] as const,
    registers: [registry],
  });
  const restartsTotal = new Counter({
    name: 'stage_replica_restarts_total',
    help: 'Replica restarts by the supervisor',
    labelNames: ['replica'] as const,
    registers: [registry],
  });
  for (const name of names) restartsTotal.inc({ replica: name }, 0);

  // --- proxies and balancer ---
  const dbProxy = new FaultProxy('db', { host: '127.0.0.1', port: pgPort });
  const replicaProxies = names.map((name, i) => new FaultProxy(name, { host: '127.0.0.1', port: replicaPorts[i]! }));
  const proxies = new Map<string, FaultProxy>([['db', dbProxy], ...replicaProxies.map((p) => [p.name, p] as const)]);
  for (const p of proxies.values()) await p.start();
  cleanups.push(async () => {
    for (const p of proxies.values()) await p.stop();
  });
  const balancer = new Balancer(
    replicaProxies.map((p) => ({ name: p.name, port: p.port })),
    (replica, code) => balancerRequests.inc({ replica, code: String(code) }),
  );

  const dbUrlDirect = databaseUrl(pgPort, dbPassword, DB_NAME);
  const dbUrlProxy = databaseUrl(dbProxy.port, dbPassword, DB_NAME);

  // --- supervisor ---
  // Allow-listed: the replicas get what they need (the database URL, where to send
  // telemetry and its headers), never the caller's environment.
  const replicaEnv = childEnv({
    ...opts.env,
    DATABASE_URL: dbUrlProxy,
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: opts.otlpTracesUrl,
    OTLP_TRACES_HEADERS: opts.otlpHeaders && JSON.stringify(opts.otlpHeaders),
    FARO_URL: opts.faroCollectorUrl,
    FARO_HEADERS: opts.faroHeaders && JSON.stringify(opts.faroHeaders),
  });
  const logDir = privateDir(join(tempRoot, 'logs'));
  const sup = new Supervisor(
    names.map((name, i) => ({ name, port: replicaPorts[i]!, env: replicaEnv })),
    {
      command: process.execPath,
      args: nodeArgsFor('service/main'),
      cwd: repoRoot,
      logDir,
      restartDelayMs: opts.restartDelay,
      log,
    },
  );
  supervisor = sup;
  let previous = new Map(sup.list().map((r) => [r.name, r.pid]));
  sup.on('change', () => {
    for (const r of sup.list()) {
      if (previous.get(r.name) !== undefined && r.pid === undefined) balancer.markDown(r.name);
      if (r.restarts > 0 && previous.get(r.name) === undefined && r.pid !== undefined) restartsTotal.inc({ replica: r.name });
    }
    previous = new Map(sup.list().map((r) => [r.name, r.pid]));
    saveState();
  });

  new Gauge({
    name: 'stage_replicas_desired',
    help: 'Replicas the supervisor keeps running',
    registers: [registry],
    collect() {
      this.set(n);
    },
  });
  new Gauge({
    name: 'stage_replicas_ready',
    help: 'Replicas passing the balancer health check',
    registers: [registry],
    collect() {
      this.set(balancer.readyCount());
    },
  });
  new Gauge({
    name: 'stage_replica_up',
    help: 'Whether the replica process is running (1) or not (0)',
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      for (const r of sup.list()) this.set({ replica: r.name }, r.pid === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: 'stage_replica_ready',
    help: 'Whether the replica passes the balancer health check',
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      for (const name of names) this.set({ replica: name }, balancer.isReady(name) ? 1 : 0);
    },
  });

  // --- PostgreSQL ---
  const pgPaths: PostgresPaths = {
    dataDir: join(tempRoot, 'pgdata'),
    socketDir: join(tempRoot, 'pgsocket'),
    walArchive,
    logFile: join(logDir, 'postgresql.log'),
  };
  let pgChild: Child | undefined;
  const adminUrl = databaseUrl(pgPort, dbPassword, 'postgres');
  async function startDatabase(): Promise<void> {
    if (pgChild && pgChild.proc.exitCode === null && pgChild.proc.signalCode === null) return;
    pgChild = startPostgres(bins.postgres, pgPaths);
    children.set('postgresql', pgChild);
    saveState();
    const up = await waitUntil(() => canQuery(adminUrl, 500), 30_000, 100);
    if (!up) throw new Error(`PostgreSQL did not accept connections within 30 s (log: ${pgPaths.logFile})`);
  }
  async function stopDatabase(): Promise<void> {
    if (!pgChild) return;
    await stopPostgres(pgChild);
    children.delete('postgresql');
    pgChild = undefined;
    saveState();
  }
  async function crashDatabase(): Promise<void> {
    if (!pgChild) return;
    await stopChild(pgChild, 'SIGKILL', 5_000);
    children.delete('postgresql');
    pgChild = undefined;
    saveState();
  }
  cleanups.push(stopDatabase);

  // --- control API ---
  const monitoringDir = privateDir(join(tempRoot, 'monitoring'));
  let prom: Child | undefined;
  let am: Child | undefined;
  const urls: StageUrls = {
    service: '', // set once the balancer listens
    prometheus: `http://127.0.0.1:${promPort}`,
    alertmanager: `http://127.0.0.1:${amPort}`,
    control: '', // set once the control API listens
    database: dbUrlDirect,
    databaseViaProxy: dbUrlProxy,
    replicas: replicaPorts.map((p) => `http://127.0.0.1:${p}`),
  };
  const alive = (c: Child | undefined) => c !== undefined && c.proc.exitCode === null && c.proc.signalCode === null;
  async function status(): Promise<ComponentStatus[]> {
    const [pgOk, promOk, amOk] = await Promise.all([
      alive(pgChild) ? canQuery(dbUrlDirect, 1_000) : Promise.resolve(false),
      alive(prom) ? httpOk(`${urls.prometheus}/-/ready`, secrets.prometheus) : Promise.resolve(false),
      alive(am) ? httpOk(`${urls.alertmanager}/-/ready`, secrets.alertmanager) : Promise.resolve(false),
    ]);
    const reps = sup.list();
    return [
      { name: 'host', kind: 'host', pid: process.pid, port: controlPort, url: urls.control, healthy: true },
      {
        name: 'balancer',
        kind: 'balancer',
        pid: process.pid,
        port: balancerPort,
        url: urls.service,
        healthy: balancer.readyCount() > 0,
        detail: `${balancer.readyCount()}/${n} replicas ready`,
      },
      ...reps.map((r): ComponentStatus => ({
        name: r.name,
        kind: 'replica',
        pid: r.pid,
        port: r.port,
        url: `http://127.0.0.1:${r.port}`,
        healthy: r.pid !== undefined && balancer.isReady(r.name),
        detail: `restarts ${r.restarts}`,
      })),
      ...[...proxies.values()].map((p): ComponentStatus => ({
        name: `proxy:${p.name}`,
        kind: 'proxy',
        pid: process.pid,
        port: p.port,
        healthy: true,
        detail: Object.keys(p.current).length ? `effects ${JSON.stringify(p.current)}` : 'no effects',
      })),
      { name: 'postgresql', kind: 'postgresql', pid: pgChild?.pid, port: pgPort, url: dbUrlDirect, healthy: pgOk },
      { name: 'prometheus', kind: 'prometheus', pid: prom?.pid, port: promPort, url: urls.prometheus, healthy: promOk },
      { name: 'alertmanager', kind: 'alertmanager', pid: am?.pid, port: amPort, url: urls.alertmanager, healthy: amOk },
    ];
  }
  const control = createControlServer({
    status,
    replicas: () => sup.list().map((r) => ({ name: r.name, pid: r.pid ?? null, port: r.port, ready: balancer.isReady(r.name), restarts: r.restarts })),
    proxies,
    stopDatabase,
    crashDatabase,
    startDatabase,
    async reloadPrometheus() {
      if (!prom || !alive(prom)) throw new Error('Prometheus is not running');
      await reloadPrometheus(prom, urls.prometheus, secrets.prometheus);
    },
    registry,
    shutdown: () => void shutdown('control API /shutdown'),
    token: secrets.controlToken,
  });
  const controlPort = await listenOnLoopback(control);
  urls.control = `http://127.0.0.1:${controlPort}`;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        control.closeAllConnections();
        control.close(() => r());
      }),
  );

  // --- start everything; the slow parts run side by side ---
  const balancerPort = await balancer.start();
  urls.service = `http://127.0.0.1:${balancerPort}`;
  cleanups.push(() => balancer.stop());
  sup.start();
  cleanups.push(() => sup.stop());
  const database = (async () => {
    // A new cluster restarts WAL segment numbering: an old archive would make archiving fail.
    rmSync(walArchive, { recursive: true, force: true });
    await initCluster(bins.initdb, pgPaths, { port: pgPort, archiveTimeoutMs: opts.archiveTimeout, password: dbPassword });
    await startDatabase();
    const applied = await migrate(adminUrl, dbUrlDirect, DB_NAME, join(packageDir, 'migrations'));
    log(`PostgreSQL ready on ${pgPort}; migrations applied: ${applied.join(', ') || 'none'}`);
  })();
  const promConfig = prometheusConfig({
    scrapeIntervalMs: opts.scrapeInterval,
    evaluationIntervalMs: opts.evaluationInterval,
    rulesDir: opts.rulesDir ? resolve(opts.rulesDir) : undefined,
    alertmanagerPort: amPort,
    replicas: names.map((name, i) => ({ name, port: replicaPorts[i]! })),
    hostPort: controlPort,
    hostToken: secrets.controlToken,
    alertmanagerAuth: secrets.alertmanager,
    externalLabels,
    ...(opts.extraScrapeTargets ? { extraScrapeTargets: opts.extraScrapeTargets } : {}),
  });
  const promDir = join(monitoringDir, 'prometheus');
  if (opts.history && opts.history.lengthMs > 0) {
    // Before Prometheus starts: it loads blocks at start-up only. Labelled from the config it will scrape with.
    const byInstance = new Map(names.map((name, i) => [`127.0.0.1:${replicaPorts[i]!}`, name]));
    const targets = serviceTargets(promConfig, SERVICE_JOB, (instance) => byInstance.get(instance));
    privateDir(promDir);
    state.history = await writeHistory(bins.promtool, privateDir(join(promDir, 'data')), opts.history, targets, opts.scrapeInterval);
    const h = state.history;
    log(`synthetic history: ${(h.lengthMs / 60_000).toFixed(0)} min at ${h.ratePerSecond}/s, ${h.samples} samples in ${h.writeMs} ms`);
  }
  prom = startPrometheus(bins.prometheus, promDir, promPort, promConfig, secrets.prometheus);
  const webhook = opts.alertWebhookUrl ? { url: opts.alertWebhookUrl, name: state.alertReceiver!, token: opts.alertWebhookToken } : undefined;
  am = startAlertmanager(bins.alertmanager, join(monitoringDir, 'alertmanager'), amPort, alertmanagerConfig(webhook), secrets.alertmanager);
  children.set('prometheus', prom);
  children.set('alertmanager', am);
  saveState();
  cleanups.push(async () => {
    const { stopChild } = await import('./children.ts');
    await Promise.all([prom && stopChild(prom), am && stopChild(am)]);
  });
  for (const [name, c] of [
    ['Prometheus', prom],
    ['Alertmanager', am],
  ] as const) {
    void c.exited.then(({ code }) => {
      if (!shuttingDown) log(`${name} exited with code ${code}; see ${join(monitoringDir, name.toLowerCase(), `${name.toLowerCase()}.log`)}`);
    });
  }

  await database;
  const deadline = 60_000;
  const ok = await waitUntil(
    async () => {
      if (!alive(prom) || !alive(am)) throw new Error(`Prometheus or Alertmanager exited during start-up; logs in ${monitoringDir}`);
      const ready = (url: string, auth: BasicAuth) => httpOk(`${url}/-/ready`, auth);
      return balancer.readyCount() === n && (await ready(urls.prometheus, secrets.prometheus)) && (await ready(urls.alertmanager, secrets.alertmanager));
    },
    deadline,
    100,
  );
  if (!ok) throw new Error(`the stage was not ready within ${deadline / 1000} s (${balancer.readyCount()}/${n} replicas ready; logs in ${logDir})`);

  state.ready = true;
  state.readyInMs = Date.now() - started;
  state.urls = urls;
  state.paths = { stateDir, dataDir: pgPaths.dataDir, walArchive, pgBin: bins.pgBin };
  saveState();
  log(`stage ready in ${state.readyInMs} ms`);
  message({ type: 'ready', state });
}

function failStartUp(err: unknown): void {
  const environment = err instanceof EnvironmentError;
  message({ type: 'error', environment, message: (err as Error).message ?? String(err) });
  log(`start-up failed: ${(err as Error).stack ?? err}`);
  void shutdown('start-up failed');
}
main().catch(failStartUp);
// An error thrown outside main's promise chain (an event handler) must still stop everything
// and tell the caller why, not leave it with "exited (code 1)".
process.on('uncaughtException', (err) => {
  if (!state.ready) return failStartUp(err);
  log(`uncaught error: ${err.stack ?? err}`);
  void shutdown('uncaught error');
});
