// Load benchmark: the embedded runner against wrk (C) and autocannon (Node), in one run.
//   1. pinned — the target on core 0, each generator alone on core 1 (taskset): req/s, the
//      generator's own CPU-seconds per 10,000 requests, peak RSS; interleaved rounds, medians;
//   2. open model, pinned — constant-arrival-rate at 20, 200, 2,000 and 5,000/s: the
//      generator's CPU share and the arrival error by the target's own request count;
//   3. ceiling-bound — the earlier closed-model rounds, target and tools unpinned, where the
//      target saturates first (kept for comparison, labelled as such);
//   4. coordinated omission — the target stalls for 1 s mid-run: what p99 each reports;
//   5. worker threads — 1 against 2: pinned to one core (the cost of a worker without a core
//      of its own), unpinned (target and generator share the machine), open model at 10–40 k/s.
// Results go to bench/results/load-<time>.json (git-ignored). See bench/README.md.
//   npx tsx bench/load.ts [--quick] [--stage] [--cpu-prof=<dir>]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
// @ts-expect-error autocannon ships no types; the part used is declared below (Autocannon)
import autocannonImport from 'autocannon';
import { Client, request } from 'undici';
import { defineLoadProfile } from '../packages/harness/src/define/load.ts';
import { RealClock } from '../packages/harness/src/engine/clock.ts';
import { cpuPer10k } from '../packages/harness/src/load/generator-usage.ts';
import { runLoad, send, type LoadSample, type LoadSummary } from '../packages/harness/src/load/runner.ts';
import { runAutocannon, runEmbedded, runWrk, startTarget, wrkMs, type GeneratorRun, type Target } from './generators.ts';
import { maxOf } from '../packages/harness/src/util/arrays.ts';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const withStage = process.argv.includes('--stage');
const cpuProfDir = process.argv.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);
const CONNECTIONS = 50;
// Pinned rounds: the three generators take turns on core 1 in a rotating order.
const PINNED_S = quick ? 2 : 4;
const PINNED_ROUNDS = quick ? 1 : 5;
// Ceiling-bound rounds (unpinned, target saturates first), as before, shorter.
const CLOSED_S = quick ? 2 : 4;
const ROUNDS = quick ? 1 : 3;
const OPEN_RATES = [20, 200, 2_000, 5_000];
const OPEN_S = quick ? 3 : 8;
// Worker threads (issue #21, item 3): 1 against 2 workers, closed and open model.
const WORKER_S = quick ? 2 : 4;
const WORKER_ROUNDS = quick ? 1 : 3;
const WORKER_RATES = quick ? [20_000] : [10_000, 20_000, 40_000];
const CO_RATE = 1_000;
const CO_S = quick ? 4 : 10;
const STALL_MS = 1_000;

type Autocannon = (o: {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
}) => Promise<{ requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }>;
const autocannon = autocannonImport as unknown as Autocannon;

interface ClosedFigures {
  tool: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
}

async function wrk(url: string, seconds: number, threads = 2): Promise<ClosedFigures & { raw: string }> {
  const { stdout } = await promisify(execFile)('/usr/bin/wrk', [`-t${threads}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]);
  const pct = (p: string) => wrkMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(stdout)![1]!);
  const total = Number(/(\d+) requests in/.exec(stdout)![1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const failures = non2xx + (sockErr ? sockErr.slice(1).reduce((a, n) => a + Number(n), 0) : 0);
  return {
    tool: 'wrk',
    reqPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)![1]),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    requests: total,
    failures,
    raw: stdout,
  };
}

async function autocannonRun(url: string, seconds: number): Promise<ClosedFigures> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
  return {
    tool: 'autocannon',
    reqPerSec: r.requests.total / seconds,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    failures: r.non2xx + r.errors,
  };
}

async function embedded(
  url: string,
  scenario: Parameters<typeof defineLoadProfile>[0]['scenarios'][string],
  onSample?: (s: LoadSample) => void,
): Promise<LoadSummary> {
  const profile = defineLoadProfile({
    name: 'bench',
    request: { method: 'GET', url: new URL(url).toString(), expect: { status: 200 } },
    scenarios: { bench: scenario },
  });
  return runLoad(profile, { baseUrl: url, clock: new RealClock(), ...(onSample ? { onSample } : {}) });
}

function embeddedClosed(s: LoadSummary, seconds: number): ClosedFigures {
  const reqs = s.metrics.http_reqs!.values.count!;
  return {
    tool: 'embedded',
    reqPerSec: reqs / seconds,
    p50Ms: s.metrics.http_req_duration!.values.med!,
    p99Ms: s.metrics.http_req_duration!.values['p(99)']!,
    requests: reqs,
    failures: s.metrics.http_req_failed!.values.passes!,
  };
}

const stallAt = (url: string, afterMs: number) =>
  setTimeout(() => void request(`${url}/__stall?ms=${STALL_MS}`, { method: 'POST' }).then((r) => r.body.dump()), afterMs);

/**
 * The floor under the embedded runner: the runner's own request path (`send`, undici's
 * dispatch API) with nothing around it — a connection per VU, requests back to back, bodies
 * dropped, no measurement. The gap between the two is what the runner itself costs.
 */
async function bareUndici(url: string, seconds: number): Promise<ClosedFigures> {
  const target = new URL(url);
  const options = { origin: target.origin, path: `${target.pathname}${target.search}`, method: 'GET' as const };
  const end = performance.now() + seconds * 1_000;
  let requests = 0;
  let failures = 0;
  const clients = Array.from({ length: CONNECTIONS }, () => new Client(target.origin, { pipelining: 1 }));
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const { status } = await send(client, options);
        requests++;
        if (status !== 200) failures++;
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  return { tool: 'undici', reqPerSec: requests / seconds, p50Ms: NaN, p99Ms: NaN, requests, failures };
}

/** Each tool's closed-model figures over ROUNDS interleaved rounds; the median round by req/s. */
async function closedRounds(url: string) {
  const tools: Array<() => Promise<ClosedFigures>> = [
    async () => ({ ...(await wrk(url, CLOSED_S)), raw: undefined }),
    () => autocannonRun(url, CLOSED_S),
    async () => embeddedClosed(await embedded(url, { executor: 'constant-vus', vus: CONNECTIONS, duration: `${CLOSED_S}s`, gracefulStop: '1s' }), CLOSED_S),
    () => bareUndici(url, CLOSED_S),
  ];
  const rounds: ClosedFigures[][] = tools.map(() => []);
  for (let r = 0; r < ROUNDS; r++)
    for (let k = 0; k < tools.length; k++) {
      const i = (k + r) % tools.length;
      rounds[i]!.push(await tools[i]!());
    }
  const median = (xs: ClosedFigures[]) => [...xs].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(xs.length / 2)]!;
  const [w, a, e, u] = rounds.map(median) as [ClosedFigures, ClosedFigures, ClosedFigures, ClosedFigures];
  const perRound = (i: number) => rounds[i]!.map((x) => Math.round(x.reqPerSec));
  return {
    connections: CONNECTIONS,
    seconds: CLOSED_S,
    rounds: ROUNDS,
    wrk: w,
    autocannon: a,
    embedded: e,
    bareUndici: u,
    allRounds: { wrk: perRound(0), autocannon: perRound(1), embedded: perRound(2), bareUndici: perRound(3) },
    ratio: {
      embeddedToWrk: e.reqPerSec / w.reqPerSec,
      embeddedToAutocannon: e.reqPerSec / a.reqPerSec,
      embeddedToBareUndici: e.reqPerSec / u.reqPerSec,
      bareUndiciToAutocannon: u.reqPerSec / a.reqPerSec,
    },
  };
}

async function closedModel(url: string) {
  // Warm-up so the target's JIT is not measured against the first tool only.
  await autocannonRun(url, 1);
  return closedRounds(url);
}

const median = (xs: number[]) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (!v.length) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/** One generator's pinned round, with the figures compared across tools. */
function derived(r: GeneratorRun) {
  return {
    ...r,
    reqPerSec: r.requests / r.seconds,
    cpuPer10k: cpuPer10k(r.cpuSeconds, r.requests),
    // What the generator could drive with its core to itself, at this cost per request.
    reqPerCpuSecond: r.requests / r.cpuSeconds,
    cpuShare: r.cpuSeconds / r.wallSeconds,
    // ≈ 1.0 means the target's core was saturated: the round measured the target, not the tool.
    targetCpuShare: r.targetCpuSeconds / r.wallSeconds,
  };
}
type Round = ReturnType<typeof derived>;

const profileArgs = (label: string) => (cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`] : []);

/**
 * Target alone on core 0, each generator alone on core 1, in rotating order; per tool the
 * median of each figure over the rounds. CPU per 10,000 requests is the generator's own
 * process (wrk: the kernel's rusage of the reaped child; Node tools: their getrusage from
 * "go" to done, so neither Node start-up nor tsx's compile is charged).
 */
async function pinnedRounds(target: Target) {
  const tools: Array<[string, () => Promise<GeneratorRun>]> = [
    ['wrk', () => runWrk(target, { core: 1, threads: 1, connections: CONNECTIONS, seconds: PINNED_S })],
    ['autocannon', () => runAutocannon(target, { core: 1, connections: CONNECTIONS, seconds: PINNED_S })],
    [
      'embedded',
      () =>
        runEmbedded(target, {
          core: 1,
          seconds: PINNED_S,
          scenario: { executor: 'constant-vus', vus: CONNECTIONS, duration: `${PINNED_S}s`, gracefulStop: '1s' },
          nodeArgs: profileArgs('closed'),
        }),
    ],
  ];
  const rounds: Round[][] = tools.map(() => []);
  for (let r = 0; r < PINNED_ROUNDS; r++)
    for (let k = 0; k < tools.length; k++) {
      const i = (k + r) % tools.length;
      rounds[i]!.push(derived(await tools[i]![1]()));
    }
  const summary = (rs: Round[], tool: string) => ({
    tool,
    reqPerSec: median(rs.map((x) => x.reqPerSec)),
    cpuPer10k: median(rs.map((x) => x.cpuPer10k)),
    systemCpuPer10k: median(rs.map((x) => cpuPer10k(x.systemCpuSeconds ?? NaN, x.requests))),
    reqPerCpuSecond: median(rs.map((x) => x.reqPerCpuSecond)),
    cpuShare: median(rs.map((x) => x.cpuShare)),
    maxRssKiB: median(rs.map((x) => x.maxRssKiB ?? NaN)),
    startRssKiB: median(rs.map((x) => x.startRssKiB ?? NaN)),
    p50Ms: median(rs.map((x) => x.p50Ms ?? NaN)),
    p99Ms: median(rs.map((x) => x.p99Ms ?? NaN)),
    failures: rs.reduce((a, x) => a + x.failures, 0),
    targetCpuShare: median(rs.map((x) => x.targetCpuShare)),
    // The tool's count against the target's: they must agree, or a tool miscounts.
    serverCountRatio: median(rs.map((x) => x.serverCount / x.requests)),
  });
  const [w, a, e] = tools.map(([tool], i) => summary(rounds[i]!, tool)) as [ReturnType<typeof summary>, ReturnType<typeof summary>, ReturnType<typeof summary>];
  return {
    connections: CONNECTIONS,
    seconds: PINNED_S,
    rounds: PINNED_ROUNDS,
    pinning: { target: 'core 0', generator: 'core 1' },
    wrk: w,
    autocannon: a,
    embedded: e,
    // Within a round the three tools ran back to back, so their ratio there is less exposed to
    // what the machine's neighbours did than a ratio of medians taken over different moments.
    pairedRatioMedians: {
      reqPerSecEmbeddedToWrk: median(rounds[2]!.map((x, r) => x.reqPerSec / rounds[0]![r]!.reqPerSec)),
      reqPerSecEmbeddedToAutocannon: median(rounds[2]!.map((x, r) => x.reqPerSec / rounds[1]![r]!.reqPerSec)),
      cpuPer10kEmbeddedToAutocannon: median(rounds[2]!.map((x, r) => x.cpuPer10k / rounds[1]![r]!.cpuPer10k)),
      cpuPer10kEmbeddedToWrk: median(rounds[2]!.map((x, r) => x.cpuPer10k / rounds[0]![r]!.cpuPer10k)),
    },
    ratio: {
      reqPerSecEmbeddedToWrk: e.reqPerSec / w.reqPerSec,
      reqPerSecEmbeddedToAutocannon: e.reqPerSec / a.reqPerSec,
      cpuPer10kEmbeddedToAutocannon: e.cpuPer10k / a.cpuPer10k,
      cpuPer10kEmbeddedToWrk: e.cpuPer10k / w.cpuPer10k,
    },
    allRounds: Object.fromEntries(tools.map(([tool], i) => [tool, rounds[i]!.map(({ tool: _t, ...x }) => x)])),
  };
}

/**
 * Open model on the pinned pair: constant-arrival-rate at each rate; the arrival error is
 * the target's own count against rate × duration, the CPU share the generator's
 * CPU-seconds over its wall time (what a drill at that rate takes from the machine).
 */
async function openModel(target: Target) {
  const out = [];
  for (const rate of OPEN_RATES) {
    // autocannon beside it at the same rate: a closed model with a rate cap (it has no open
    // model), 10 connections; what another Node generator costs at a drill's rate.
    const ac = derived(await runAutocannon(target, { core: 1, connections: 10, seconds: OPEN_S, overallRate: rate }));
    const scenario = {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      duration: `${OPEN_S}s`,
      preAllocatedVUs: Math.min(rate, 100),
      maxVUs: 2_000,
      gracefulStop: '5s',
    };
    const r = derived(await runEmbedded(target, { core: 1, seconds: OPEN_S, scenario, nodeArgs: profileArgs(`open-${rate}`) }));
    const scheduled = rate * OPEN_S;
    out.push({
      rate,
      seconds: OPEN_S,
      scheduled,
      serverCount: r.serverCount,
      completed: r.requests,
      dropped: r.dropped ?? 0,
      failures: r.failures,
      arrivalErrorPct: ((r.serverCount - scheduled) / scheduled) * 100,
      cpuSeconds: r.cpuSeconds,
      wallSeconds: r.wallSeconds,
      cpuShare: r.cpuShare,
      runnerReportedCpuShare: r.runnerReported?.cpuShare,
      cpuPer10k: r.cpuPer10k,
      maxRssKiB: r.maxRssKiB,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      correctedP99Ms: r.correctedP99Ms,
      autocannonRateCapped: { serverCount: ac.serverCount, cpuShare: ac.cpuShare, cpuPer10k: ac.cpuPer10k, p99Ms: ac.p99Ms },
    });
  }
  return out;
}

/**
 * One embedded run with `workers` threads, its cost read from the runner's own LoadSummary
 * (from its start to its end: the workers' start-up, tsx compiling the runner in each
 * thread, is left out for 1 and 2 workers alike); the target's CPU share over that time.
 */
async function embeddedWorkers(target: Target, workers: number, scenario: Record<string, unknown>, seconds: number, core?: number) {
  const r = await runEmbedded(target, {
    ...(core !== undefined ? { core } : {}),
    seconds,
    workers,
    tool: `embedded ×${workers}`,
    scenario,
    nodeArgs: profileArgs(`workers-${workers}`),
  });
  const own = r.runnerReported!;
  return {
    workers,
    requests: r.requests,
    serverCount: r.serverCount,
    dropped: r.dropped ?? 0,
    failures: r.failures,
    reqPerSec: r.requests / own.wallSeconds,
    cpuSeconds: own.cpuSeconds,
    cpuShare: own.cpuShare,
    workerCpuSeconds: own.workerCpuSeconds,
    cpuPer10k: cpuPer10k(own.cpuSeconds, r.requests),
    // The child's own reading from "go" to done: with workers it includes their start-up.
    childCpuSeconds: r.cpuSeconds,
    targetCpuShare: r.targetCpuSeconds / own.wallSeconds,
    wallSeconds: own.wallSeconds,
    p99Ms: r.p99Ms,
    correctedP99Ms: r.correctedP99Ms,
    maxRssKiB: r.maxRssKiB,
  };
}
type WorkerRun = Awaited<ReturnType<typeof embeddedWorkers>>;

/**
 * 1 against 2 worker threads, closed model (50 VUs), in interleaved rounds: per worker count
 * the medians, and the paired ratio 2/1 per round. `core` pins the generator (both workers
 * then share it: what a worker costs without a core of its own); unpinned, the generator and
 * the target share the machine's cores.
 */
async function workerClosedRounds(target: Target, core?: number) {
  const scenario = { executor: 'constant-vus', vus: CONNECTIONS, duration: `${WORKER_S}s`, gracefulStop: '1s' };
  const rounds: WorkerRun[][] = [[], []];
  for (let r = 0; r < WORKER_ROUNDS; r++)
    for (const w of r % 2 ? [2, 1] : [1, 2]) rounds[w - 1]!.push(await embeddedWorkers(target, w, scenario, WORKER_S, core));
  const med = (rs: WorkerRun[], f: (x: WorkerRun) => number) => median(rs.map(f));
  const summary = (rs: WorkerRun[]) => ({
    workers: rs[0]!.workers,
    reqPerSec: med(rs, (x) => x.reqPerSec),
    cpuPer10k: med(rs, (x) => x.cpuPer10k),
    cpuShare: med(rs, (x) => x.cpuShare),
    targetCpuShare: med(rs, (x) => x.targetCpuShare),
    p99Ms: med(rs, (x) => x.p99Ms ?? NaN),
    maxRssKiB: med(rs, (x) => x.maxRssKiB ?? NaN),
    failures: rs.reduce((a, x) => a + x.failures, 0),
  });
  return {
    pinning: core === undefined ? 'none: target and generator share both cores' : `target core 0, generator (both workers) core ${core}`,
    vus: CONNECTIONS,
    seconds: WORKER_S,
    rounds: WORKER_ROUNDS,
    one: summary(rounds[0]!),
    two: summary(rounds[1]!),
    pairedTwoToOne: {
      reqPerSec: median(rounds[1]!.map((x, r) => x.reqPerSec / rounds[0]![r]!.reqPerSec)),
      cpuPer10k: median(rounds[1]!.map((x, r) => x.cpuPer10k / rounds[0]![r]!.cpuPer10k)),
    },
    allRounds: { one: rounds[0]!, two: rounds[1]! },
  };
}

/**
 * Open model at rates a drill's load does not reach, 1 against 2 workers, nothing pinned: the
 * target's count against the schedule, iterations dropped for want of a VU, and the corrected
 * p99 (how late iterations started): a generator that cannot keep up shows in these.
 */
async function workerOpenRates(target: Target) {
  const out = [];
  for (const rate of WORKER_RATES)
    for (const workers of [1, 2]) {
      const scenario = {
        executor: 'constant-arrival-rate',
        rate,
        timeUnit: '1s',
        duration: `${WORKER_S}s`,
        preAllocatedVUs: 100,
        maxVUs: 2_000,
        gracefulStop: '5s',
      };
      const r = await embeddedWorkers(target, workers, scenario, WORKER_S);
      const scheduled = rate * WORKER_S;
      out.push({ rate, scheduled, ...r, arrivalErrorPct: ((r.serverCount - scheduled) / scheduled) * 100 });
    }
  return out;
}

async function coordinatedOmission(url: string) {
  const half = (CO_S * 1_000) / 2;
  let t = stallAt(url, half);
  const open = await embedded(url, {
    executor: 'constant-arrival-rate',
    rate: CO_RATE,
    timeUnit: '1s',
    duration: `${CO_S}s`,
    preAllocatedVUs: 100,
    maxVUs: 3_000,
    gracefulStop: '5s',
  });
  clearTimeout(t);
  t = stallAt(url, half);
  const closed = await embedded(url, { executor: 'constant-vus', vus: CONNECTIONS, duration: `${CO_S}s`, gracefulStop: '5s' });
  clearTimeout(t);
  t = stallAt(url, half);
  const w = await wrk(url, CO_S);
  clearTimeout(t);
  const d = (s: LoadSummary, m: string) => s.metrics[m]!.values;
  return {
    stallMs: STALL_MS,
    seconds: CO_S,
    embeddedOpen: {
      rate: CO_RATE,
      requests: d(open, 'http_reqs').count,
      dropped: open.metrics.dropped_iterations?.values.count ?? 0,
      rawP99Ms: d(open, 'http_req_duration')['p(99)'],
      correctedP99Ms: d(open, 'http_req_duration_corrected')['p(99)'],
      rawMaxMs: d(open, 'http_req_duration').max,
    },
    embeddedClosed: {
      vus: CONNECTIONS,
      requests: d(closed, 'http_reqs').count,
      rawP99Ms: d(closed, 'http_req_duration')['p(99)'],
      rawMaxMs: d(closed, 'http_req_duration').max,
    },
    wrk: { connections: CONNECTIONS, requests: w.requests, p99Ms: w.p99Ms, p50Ms: w.p50Ms },
    // What a correct p99 is: with the stall inside the run, STALL_MS/run of all intended requests wait, up to STALL_MS.
    expectedShareDelayed: STALL_MS / (CO_S * 1_000),
  };
}

async function stageClosed(): Promise<ClosedFigures[] | { skipped: string }> {
  let startStage: ((o: { stateDir: string }) => Promise<{ urls: { service: string }; stop(): Promise<void> }>) | undefined;
  try {
    ({ startStage } = (await import('../packages/stage/src/index.ts')) as unknown as { startStage: typeof startStage });
  } catch (err) {
    return { skipped: `stage not available: ${(err as Error).message}` };
  }
  // Its own state dir: the default one may hold another engineer's stage.
  const stateDir = mkdtempSync(join(tmpdir(), 'drillbook-bench-stage-'));
  const stage = await startStage!({ stateDir }).catch((err: Error) => {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  });
  try {
    const r = await closedRounds(`${stage.urls.service}/healthz`);
    return [r.wrk, r.autocannon, r.embedded, r.bareUndici];
  } finally {
    await stage.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const fmt = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));
const closedLine = (label: string, f: ClosedFigures) =>
  `${label} ${f.tool.padEnd(10)} ${fmt(f.reqPerSec, 0).padStart(7)} req/s  ${Number.isNaN(f.p50Ms) ? '(not measured)' : `p50 ${fmt(f.p50Ms, 2)} ms  p99 ${fmt(f.p99Ms, 2)} ms`}  failures ${f.failures}`;
const load = () => loadavg().map((x) => Number(x.toFixed(2)));
const printWorkers = (label: string, w: Awaited<ReturnType<typeof workerClosedRounds>>) => {
  for (const f of [w.one, w.two])
    console.log(
      [
        `${label} closed ${w.vus} VUs, ${f.workers} worker${f.workers > 1 ? 's' : ' '}: ${fmt(f.reqPerSec, 0).padStart(7)} req/s`,
        `${fmt(f.cpuPer10k, 3)} CPU-s/10k req`,
        `generator ${fmt(f.cpuShare * 100, 0)} % of a core`,
        `target ${fmt(f.targetCpuShare * 100, 0)} %`,
        `p99 ${fmt(f.p99Ms, 2)} ms`,
        `peak RSS ${fmt(f.maxRssKiB / 1024, 0)} MiB`,
      ].join(' · '),
    );
  console.log(
    `${label} 2 workers / 1 (paired, median of ${w.rounds} rounds of ${w.seconds} s): req/s ${fmt(w.pairedTwoToOne.reqPerSec, 2)}× · CPU per request ${fmt(w.pairedTwoToOne.cpuPer10k, 2)}× (${w.pinning})`,
  );
};

async function main() {
  const startedAt = new Date().toISOString();
  const loadBefore = load();
  console.log(`${cpus().length} cores · load average ${loadBefore.join(' ')} · ${quick ? 'quick' : 'full'} run`);
  if (cpus().length < 2) throw new Error('the pinned benchmark needs 2 cores: one for the target, one for the generator');
  const pinnedTarget = await startTarget(0);
  let pinned, open, workersPinned;
  try {
    // Warm-up so the target's JIT is not measured against the first tool only.
    await runAutocannon(pinnedTarget, { core: 1, connections: CONNECTIONS, seconds: 1 });
    pinned = await pinnedRounds(pinnedTarget);
    for (const f of [pinned.wrk, pinned.autocannon, pinned.embedded])
      console.log(
        [
          `pinned  ${f.tool.padEnd(10)} ${fmt(f.reqPerSec, 0).padStart(7)} req/s  ${fmt(f.cpuPer10k, 3)} CPU-s/10k req (kernel ${fmt(f.systemCpuPer10k, 3)})`,
          `${fmt(f.reqPerCpuSecond, 0)} req per CPU-s  CPU ${fmt(f.cpuShare * 100, 0)} %`,
          `peak RSS ${fmt(f.maxRssKiB / 1024, 0)} MiB (${fmt(f.startRssKiB / 1024, 0)} at start)  p50 ${fmt(f.p50Ms, 2)} ms  p99 ${fmt(f.p99Ms, 2)} ms`,
          `target CPU ${fmt(f.targetCpuShare * 100, 0)} %  failures ${f.failures}`,
        ].join('  '),
      );
    const r = pinned.ratio;
    console.log(
      [
        `pinned  embedded/wrk ${fmt(r.reqPerSecEmbeddedToWrk, 2)}×  embedded/autocannon ${fmt(r.reqPerSecEmbeddedToAutocannon, 2)}× req/s`,
        `CPU per request embedded/autocannon ${fmt(r.cpuPer10kEmbeddedToAutocannon, 2)}×  embedded/wrk ${fmt(r.cpuPer10kEmbeddedToWrk, 2)}×`,
        `(median of ${pinned.rounds} rounds of ${pinned.seconds} s)`,
      ].join(' · '),
    );
    const pr = pinned.pairedRatioMedians;
    console.log(
      [
        `pinned  paired per round (median): embedded/wrk ${fmt(pr.reqPerSecEmbeddedToWrk, 2)}×  embedded/autocannon ${fmt(pr.reqPerSecEmbeddedToAutocannon, 2)}× req/s`,
        `CPU per request embedded/autocannon ${fmt(pr.cpuPer10kEmbeddedToAutocannon, 2)}×  embedded/wrk ${fmt(pr.cpuPer10kEmbeddedToWrk, 2)}×`,
      ].join(' · '),
    );
    const everyRound = Object.entries(pinned.allRounds).map(([t, xs]) => `${t} ${xs.map((x) => fmt(x.reqPerSec, 0)).join('/')}`);
    console.log(`pinned  every round req/s: ${everyRound.join(' · ')}`);
    open = await openModel(pinnedTarget);
    for (const o of open)
      console.log(
        [
          `open    ${String(o.rate).padStart(5)}/s × ${o.seconds}s: target counted ${o.serverCount} of ${o.scheduled} (error ${fmt(o.arrivalErrorPct, 2)} %), dropped ${o.dropped}`,
          `generator CPU ${fmt(o.cpuShare * 100, 2)} % of a core (runner's own figure ${fmt((o.runnerReportedCpuShare ?? NaN) * 100, 2)} %), ${fmt(o.cpuPer10k, 3)} CPU-s/10k`,
          `p99 ${fmt(o.p99Ms, 2)} ms (corrected ${fmt(o.correctedP99Ms, 2)} ms)`,
          `autocannon -R ${o.rate}: CPU ${fmt(o.autocannonRateCapped.cpuShare * 100, 2)} %, target counted ${o.autocannonRateCapped.serverCount}`,
        ].join(' · '),
      );
    workersPinned = await workerClosedRounds(pinnedTarget, 1);
    printWorkers('workers pinned', workersPinned);
  } finally {
    pinnedTarget.child.kill('SIGTERM');
  }

  // The earlier rounds: nothing pinned, the target saturates first (ceiling-bound).
  const free = await startTarget();
  const url = free.url.replace(/\/$/, '');
  let closed, co, workersFree, workersOpen;
  try {
    workersFree = await workerClosedRounds(free);
    printWorkers('workers free  ', workersFree);
    workersOpen = await workerOpenRates(free);
    for (const o of workersOpen)
      console.log(
        [
          `workers open ${String(o.rate).padStart(6)}/s × ${WORKER_S}s, ${o.workers} worker${o.workers > 1 ? 's' : ' '}: target counted ${o.serverCount} of ${o.scheduled}, dropped ${o.dropped}`,
          `${fmt(o.wallSeconds, 2)} s`,
          `generator ${fmt(o.cpuShare * 100, 0)} % of a core${o.workerCpuSeconds ? ` (threads ${o.workerCpuSeconds.map((c) => fmt(c, 2)).join(' + ')} CPU-s)` : ''}, ${fmt(o.cpuPer10k, 3)} CPU-s/10k`,
          `target ${fmt(o.targetCpuShare * 100, 0)} %`,
          `p99 ${fmt(o.p99Ms, 1)} ms (corrected ${fmt(o.correctedP99Ms, 1)} ms)`,
        ].join(' · '),
      );
    closed = await closedModel(url);
    for (const f of [closed.wrk, closed.autocannon, closed.embedded, closed.bareUndici]) console.log(closedLine('ceiling', f));
    console.log(
      [
        `ceiling embedded/wrk ${fmt(closed.ratio.embeddedToWrk, 2)}×  embedded/autocannon ${fmt(closed.ratio.embeddedToAutocannon, 2)}×`,
        `embedded/bare undici ${fmt(closed.ratio.embeddedToBareUndici, 2)}× (unpinned, in-process, wrk -t2; median of ${closed.rounds} rounds of ${closed.seconds} s)`,
      ].join('  '),
    );
    co = await coordinatedOmission(url);
    console.log(
      [
        `stall   ${co.stallMs} ms in ${co.seconds}s: embedded open p99 raw ${fmt(co.embeddedOpen.rawP99Ms!)} ms / corrected ${fmt(co.embeddedOpen.correctedP99Ms!)} ms`,
        `embedded closed p99 ${fmt(co.embeddedClosed.rawP99Ms!)} ms · wrk p99 ${fmt(co.wrk.p99Ms)} ms`,
      ].join(' · '),
    );
  } finally {
    free.child.kill('SIGTERM');
  }
  const stage = withStage ? await stageClosed() : { skipped: 'run with --stage to include the stage service' };
  if (Array.isArray(stage)) for (const f of stage) console.log(closedLine('stage  ', f));
  const worstArrival = maxOf(open.map((o) => Math.abs(o.arrivalErrorPct)));
  // Judged on the paired per-round ratios (see pinnedRounds); the ratios of medians are in the results too.
  const pr = pinned.pairedRatioMedians;
  const targets = {
    pinnedReqPerSecVsAutocannon: { want: '≥ 1.0', got: pr.reqPerSecEmbeddedToAutocannon, met: pr.reqPerSecEmbeddedToAutocannon >= 1.0 },
    pinnedReqPerSecVsWrk: { want: '≥ 0.85', got: pr.reqPerSecEmbeddedToWrk, met: pr.reqPerSecEmbeddedToWrk >= 0.85 },
    pinnedCpuPer10kVsAutocannon: { want: '≤ 1.0', got: pr.cpuPer10kEmbeddedToAutocannon, met: pr.cpuPer10kEmbeddedToAutocannon <= 1.0 },
    openArrivalError: { want: '≤ 1 %', got: worstArrival, met: worstArrival <= 1 },
  };
  for (const [k, v] of Object.entries(targets)) console.log(`target  ${k.padEnd(28)} ${v.want.padEnd(6)} got ${fmt(v.got, 2)} ${v.met ? 'MET' : 'MISSED'}`);
  const loadAfter = load();
  console.log(`load average after ${loadAfter.join(' ')}`);
  const results = {
    startedAt,
    node: process.version,
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    quick,
    loadAverage: { before: loadBefore, after: loadAfter },
    pinned,
    open,
    workers: { pinned: workersPinned, unpinned: workersFree, open: workersOpen },
    ceilingBound: closed,
    coordinatedOmission: co,
    stage,
    targets,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  const file = join(here, 'results', `load-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results ${file}`);
}

await main();
