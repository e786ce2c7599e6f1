// The embedded runner as a load generator in its own process (the benchmark pins it to a
// core): one profile, run by runLoad as `drill load` runs it (RealClock, a live sample per
// second turned into a progress line). Protocol on stdio, so the parent can read this
// process's CPU and memory around the run and not around tsx's start-up:
//   → READY   ← any line (go)   → DONE <json>   ← stdin closes (exit)
//   node --import tsx bench/gen-embedded.ts '{"url":"http://127.0.0.1:8080/","scenario":{…},"workers":2}'
import { createInterface } from 'node:readline';
import { defineLoadProfile, type LoadProfileInput } from '../packages/harness/src/define/load.ts';
import { RealClock } from '../packages/harness/src/engine/clock.ts';
import { runLoad } from '../packages/harness/src/load/runner.ts';

const { url, scenario, workers } = JSON.parse(process.argv[2] ?? '{}') as { url: string; scenario: LoadProfileInput['scenarios'][string]; workers?: number };
const profile = defineLoadProfile({ name: 'bench', request: { method: 'GET', url, expect: { status: 200 } }, scenarios: { bench: scenario } });
const lines = createInterface({ input: process.stdin });
const next = () => new Promise<void>((resolve) => lines.once('line', () => resolve()));
const go = next();
// Peak RSS before the run: what start-up alone took (Node, tsx compiling the harness's modules).
const startRssKiB = process.resourceUsage().maxRSS;
process.stdout.write('READY\n');
await go;

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let progress = '';
const s = await runLoad(profile, {
  baseUrl: url,
  clock: new RealClock(),
  // With worker threads, runLoad starts them first (tsx compiles the runner in each): its own
  // `generator` figure leaves that out, this process's reading below does not.
  ...(workers ? { workers } : {}),
  // What `drill load` does with each sample (its progress line), minus the terminal write.
  onSample: (x) => (progress = `bench: ${x.requests} req/s · ${x.failures} failed · p95 ${x.p95Ms.toFixed(1)} ms · ${x.vus} VUs`),
});
const cpu = process.cpuUsage(cpu0);
const v = (m: string) => s.metrics[m]?.values ?? {};
process.stdout.write(
  `DONE ${JSON.stringify({
    requests: v('http_reqs').count ?? 0,
    failures: v('http_req_failed').passes ?? 0,
    dropped: v('dropped_iterations').count ?? 0,
    p50Ms: v('http_req_duration').med,
    p99Ms: v('http_req_duration')['p(99)'],
    correctedP99Ms: v('http_req_duration_corrected')['p(99)'],
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    systemCpuSeconds: cpu.system / 1e6,
    wallSeconds: (performance.now() - t0) / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    startRssKiB,
    generator: s.generator,
    lastProgress: progress,
  })}\n`,
);
lines.once('close', () => process.exit(0));
