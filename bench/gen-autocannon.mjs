// autocannon as a load generator in its own process (the benchmark pins it to a core), run
// through its programmatic API, which its CLI also uses. Same stdio protocol as
// gen-embedded.ts:  → READY   ← any line (go)   → DONE <json>   ← stdin closes (exit)
//   node bench/gen-autocannon.mjs '{"url":"http://127.0.0.1:8080/","connections":50,"seconds":4}'
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const { url, connections, seconds, overallRate } = JSON.parse(process.argv[2] ?? '{}');
const lines = createInterface({ input: process.stdin });
const go = new Promise((resolve) => lines.once('line', resolve));
// Peak RSS before the run: what start-up alone took (Node, autocannon's modules).
const startRssKiB = process.resourceUsage().maxRSS;
process.stdout.write('READY\n');
await go;

const cpu0 = process.cpuUsage();
const t0 = performance.now();
// overallRate caps the requests per second across connections (a closed model with a rate cap).
const r = await autocannon({ url, connections, duration: seconds, pipelining: 1, ...(overallRate ? { overallRate } : {}) });
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `DONE ${JSON.stringify({
    requests: r.requests.total,
    failures: r.non2xx + r.errors,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    systemCpuSeconds: cpu.system / 1e6,
    wallSeconds: (performance.now() - t0) / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    startRssKiB,
  })}\n`,
);
lines.once('close', () => process.exit(0));
