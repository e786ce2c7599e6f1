// Load benchmark: the embedded runner against wrk (C, multi-threaded) and autocannon
// (Node) on the same loopback target, in one run. Three questions:
//   1. closed model — how many requests per second each tool drives, and its p50/p99;
//   2. open model — does a constant-arrival-rate of 5,000/s for 30 s hit its rate;
//   3. coordinated omission — the target stalls for 1 s mid-run: what p99 each reports.
// Results go to bench/results/load-<time>.json (git-ignored). See bench/README.md.
//   npx tsx bench/load.ts [--quick] [--stage]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// @ts-expect-error autocannon ships no types; the part used is declared below (Autocannon)
import autocannonImport from 'autocannon';
import { Client, request } from 'undici';
import { defineLoadProfile } from '../packages/harness/src/define/load.ts';
import { RealClock } from '../packages/harness/src/engine/clock.ts';
import { runLoad, send, type LoadSample, type LoadSummary } from '../packages/harness/src/load/runner.ts';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const withStage = process.argv.includes('--stage');
const CONNECTIONS = 50;
const CLOSED_S = quick ? 3 : 6;
// Closed-model rounds: the tools take turns, in a rotating order, and each tool's median
// round is compared; one round each is at the mercy of whatever else the machine did then.
const ROUNDS = quick ? 1 : 5;
const ARRIVAL_RATE = 5_000;
const ARRIVAL_S = quick ? 5 : 30;
const CO_RATE = 1_000;
const CO_S = quick ? 4 : 10;
const STALL_MS = 1_000;

type Autocannon = (o: { url: string; connections: number; duration: number; pipelining?: number }) => Promise<{ requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }>;
const autocannon = autocannonImport as unknown as Autocannon;

interface ClosedFigures {
  tool: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
}

async function startTarget(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(here, 'target.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** wrk's latency figures come as `612.00us`, `2.10ms`, `1.02s`. */
function wrkMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) throw new Error(`wrk latency '${v}' not understood`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1_000, m: 60_000 }[m[2] as 'us']!;
}

async function wrk(url: string, seconds: number, threads = 2): Promise<ClosedFigures & { raw: string }> {
  const { stdout } = await promisify(execFile)('/usr/bin/wrk', [`-t${threads}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]);
  const pct = (p: string) => wrkMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(stdout)![1]!);
  const total = Number(/(\d+) requests in/.exec(stdout)![1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const failures = non2xx + (sockErr ? sockErr.slice(1).reduce((a, n) => a + Number(n), 0) : 0);
  return { tool: 'wrk', reqPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)![1]), p50Ms: pct('50'), p99Ms: pct('99'), requests: total, failures, raw: stdout };
}

async function autocannonRun(url: string, seconds: number): Promise<ClosedFigures> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
  return { tool: 'autocannon', reqPerSec: r.requests.total / seconds, p50Ms: r.latency.p50, p99Ms: r.latency.p99, requests: r.requests.total, failures: r.non2xx + r.errors };
}

async function embedded(url: string, scenario: Parameters<typeof defineLoadProfile>[0]['scenarios'][string], onSample?: (s: LoadSample) => void): Promise<LoadSummary> {
  const profile = defineLoadProfile({ name: 'bench', request: { method: 'GET', url: new URL(url).toString(), expect: { status: 200 } }, scenarios: { bench: scenario } });
  return runLoad(profile, { baseUrl: url, clock: new RealClock(), ...(onSample ? { onSample } : {}) });
}

function embeddedClosed(s: LoadSummary, seconds: number): ClosedFigures {
  const reqs = s.metrics.http_reqs!.values.count!;
  return { tool: 'embedded', reqPerSec: reqs / seconds, p50Ms: s.metrics.http_req_duration!.values.med!, p99Ms: s.metrics.http_req_duration!.values['p(99)']!, requests: reqs, failures: s.metrics.http_req_failed!.values.passes! };
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
    async () => embeddedClosed(await embedded(url, { executor: 'constant-vus', vus: CONNECTIONS, duration: `${CLOSED_S}s`, gracefulStop: '0s' }), CLOSED_S),
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
    ratio: { embeddedToWrk: e.reqPerSec / w.reqPerSec, embeddedToAutocannon: e.reqPerSec / a.reqPerSec, embeddedToBareUndici: e.reqPerSec / u.reqPerSec, bareUndiciToAutocannon: u.reqPerSec / a.reqPerSec },
  };
}

async function closedModel(url: string) {
  // Warm-up so the target's JIT is not measured against the first tool only.
  await autocannonRun(url, 1);
  return closedRounds(url);
}

async function arrivalAccuracy(url: string) {
  const perSecond: number[] = [];
  const s = await embedded(url, { executor: 'constant-arrival-rate', rate: ARRIVAL_RATE, timeUnit: '1s', duration: `${ARRIVAL_S}s`, preAllocatedVUs: 200, maxVUs: 2_000, gracefulStop: '5s' }, (x) => perSecond.push(x.requests));
  const completed = s.metrics.http_reqs!.values.count!;
  const dropped = s.metrics.dropped_iterations?.values.count ?? 0;
  const achieved = completed / ARRIVAL_S;
  // Full seconds only: the first and last sample straddle the start and the graceful stop.
  const inner = perSecond.slice(1, ARRIVAL_S - 1);
  return {
    rate: ARRIVAL_RATE,
    seconds: ARRIVAL_S,
    scheduled: ARRIVAL_RATE * ARRIVAL_S,
    completed,
    dropped,
    failed: Math.round(s.metrics.http_req_failed!.values.rate! * completed),
    achievedPerSec: achieved,
    errorPct: ((achieved - ARRIVAL_RATE) / ARRIVAL_RATE) * 100,
    perSecondMin: Math.min(...inner),
    perSecondMax: Math.max(...inner),
    p50Ms: s.metrics.http_req_duration!.values.med!,
    p99Ms: s.metrics.http_req_duration!.values['p(99)']!,
    correctedP99Ms: s.metrics.http_req_duration_corrected!.values['p(99)']!,
  };
}

async function coordinatedOmission(url: string) {
  const half = (CO_S * 1_000) / 2;
  let t = stallAt(url, half);
  const open = await embedded(url, { executor: 'constant-arrival-rate', rate: CO_RATE, timeUnit: '1s', duration: `${CO_S}s`, preAllocatedVUs: 100, maxVUs: 3_000, gracefulStop: '5s' });
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
    embeddedOpen: { rate: CO_RATE, requests: d(open, 'http_reqs').count, dropped: open.metrics.dropped_iterations?.values.count ?? 0, rawP99Ms: d(open, 'http_req_duration')['p(99)'], correctedP99Ms: d(open, 'http_req_duration_corrected')['p(99)'], rawMaxMs: d(open, 'http_req_duration').max },
    embeddedClosed: { vus: CONNECTIONS, requests: d(closed, 'http_reqs').count, rawP99Ms: d(closed, 'http_req_duration')['p(99)'], rawMaxMs: d(closed, 'http_req_duration').max },
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

const fmt = (n: number, d = 1) => n.toFixed(d);
const closedLine = (label: string, f: ClosedFigures) =>
  `${label} ${f.tool.padEnd(10)} ${fmt(f.reqPerSec, 0).padStart(7)} req/s  ${Number.isNaN(f.p50Ms) ? '(not measured)' : `p50 ${fmt(f.p50Ms, 2)} ms  p99 ${fmt(f.p99Ms, 2)} ms`}  failures ${f.failures}`;

async function main() {
  const { url, child } = await startTarget();
  const startedAt = new Date().toISOString();
  try {
    console.log(`target ${url} · ${cpus().length} cores · ${quick ? 'quick' : 'full'} run`);
    const closed = await closedModel(url);
    for (const f of [closed.wrk, closed.autocannon, closed.embedded, closed.bareUndici]) console.log(closedLine('closed ', f));
    console.log(`closed  embedded/wrk ${fmt(closed.ratio.embeddedToWrk, 2)}×  embedded/autocannon ${fmt(closed.ratio.embeddedToAutocannon, 2)}×  embedded/bare undici ${fmt(closed.ratio.embeddedToBareUndici, 2)}×  bare undici/autocannon ${fmt(closed.ratio.bareUndiciToAutocannon, 2)}×  (median of ${closed.rounds} rounds of ${closed.seconds} s each; every round: ${Object.entries(closed.allRounds).map(([t, xs]) => `${t} ${xs.map((x) => fmt(x, 0)).join('/')}`).join(' · ')})`);
    const arrival = await arrivalAccuracy(url);
    console.log(`arrival ${arrival.rate}/s × ${arrival.seconds}s: ${arrival.completed} completed, ${arrival.dropped} dropped, ${fmt(arrival.achievedPerSec)} /s (error ${fmt(arrival.errorPct, 2)} %), per second ${arrival.perSecondMin}–${arrival.perSecondMax}, p99 ${fmt(arrival.p99Ms, 2)} ms (corrected ${fmt(arrival.correctedP99Ms, 2)} ms)`);
    const co = await coordinatedOmission(url);
    console.log(`stall   ${co.stallMs} ms in ${co.seconds}s: embedded open p99 raw ${fmt(co.embeddedOpen.rawP99Ms!)} ms / corrected ${fmt(co.embeddedOpen.correctedP99Ms!)} ms · embedded closed p99 ${fmt(co.embeddedClosed.rawP99Ms!)} ms · wrk p99 ${fmt(co.wrk.p99Ms)} ms`);
    const stage = withStage ? await stageClosed() : { skipped: 'run with --stage to include the stage service' };
    if (Array.isArray(stage)) for (const f of stage) console.log(closedLine('stage  ', f));
    const targets = {
      closedVsWrk: { want: '≥ 0.9', got: closed.ratio.embeddedToWrk, met: closed.ratio.embeddedToWrk >= 0.9 },
      closedVsAutocannon: { want: '≥ 1.0', got: closed.ratio.embeddedToAutocannon, met: closed.ratio.embeddedToAutocannon >= 1.0 },
      arrivalError: { want: '≤ 1 %', got: Math.abs(arrival.errorPct), met: Math.abs(arrival.errorPct) <= 1 },
    };
    for (const [k, v] of Object.entries(targets)) console.log(`target  ${k.padEnd(20)} ${v.want.padEnd(6)} got ${fmt(v.got, 2)} ${v.met ? 'MET' : 'MISSED'}`);
    const results = { startedAt, node: process.version, cores: cpus().length, cpu: cpus()[0]?.model, quick, closed, arrival, coordinatedOmission: co, stage, targets };
    mkdirSync(join(here, 'results'), { recursive: true });
    const file = join(here, 'results', `load-${startedAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`results ${file}`);
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
