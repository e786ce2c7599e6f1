// `drill synth <journey-file>` runs journeys once; `drill coverage <pack>` is the trace
// coverage gate over the runs in a pack (exit 1 below --min).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isJourney } from '../define/journey.ts';
import { loadDefinitions } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { UsageError } from '../errors.ts';
import { listPackFiles } from '../evidence/manifest.ts';
import type { RunRecord } from '../evidence/run-record.ts';
import { traceCoverage } from '../measure/coverage.ts';
import type { StoredSpan } from '../observe/trace-store.ts';
import { BrowserPool, runJourney, type AnyJourney } from '../synthetics/run-journey.ts';
import { isBrowserJourney } from '../define/browser-journey.ts';
import type { coverageSpec, synthSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function synthCommand({ positionals, flags: values }: Parsed<typeof synthSpec>, io: CliIo): Promise<number> {
  let failed = 0;
  const out = [];
  const browsers = new BrowserPool();
  try {
    for (const file of positionals['journey-file']) {
      const journeys = (await loadDefinitions(file)).definitions.map((d) => d.value).filter((v): v is AnyJourney => isJourney(v) || isBrowserJourney(v));
      for (const j of journeys) {
        const r = await runJourney(j, {
          baseUrl: values.target,
          ...(isBrowserJourney(j) ? { browser: await browsers.get(), screenshotDir: values.screenshots } : {}),
        });
        out.push({ file, outcome: r });
        if (!r.ok) failed++;
        if (!values.json) {
          io.out(`${r.ok ? '✓' : '✗'} ${j.name} (${r.runner})  trace ${r.traceId}${r.faroSessionId ? `  Faro session ${r.faroSessionId}` : ''}`);
          for (const s of r.steps) io.out(`    ${s.ok ? '✓' : '✗'} ${s.name.padEnd(12)} ${s.durationMs.toFixed(0).padStart(5)} ms  ${s.detail}`);
          if (r.screenshot) io.out(`    screenshot: ${r.screenshot}`);
        }
      }
    }
  } finally {
    await browsers.close();
  }
  const exitCode = failed ? ExitCode.fail : ExitCode.pass;
  if (values.json) io.out(JSON.stringify((await import('./output/synth.ts')).synthOutput(values.target, out, exitCode), null, 2));
  return exitCode;
}

export async function coverageCommand({ positionals, flags: values }: Parsed<typeof coverageSpec>, io: CliIo): Promise<number> {
  const pack = positionals['pack-dir'];
  const min = Number(values.min);
  if (values.min.trim() === '' || !Number.isFinite(min) || min < 0 || min > 1) {
    throw new UsageError(`--min is a share between 0 and 1 (e.g. 0.7), not '${values.min}'`);
  }
  if (!existsSync(pack)) throw new UsageError(`no evidence pack at ${pack}`);
  const requests = [];
  const byTrace = new Map<string, StoredSpan[]>();
  for (const p of listPackFiles(pack).filter((f) => f.startsWith('chaos-dr/'))) {
    const record = JSON.parse(readFileSync(join(pack, p), 'utf8')) as RunRecord;
    if (!record.coverageRequests?.length) continue;
    for (const r of record.coverageRequests) requests.push(r); // a loop: a long run holds more than a spread can take
    const spansFile = join(pack, 'traces', `${record.runId}.spans.json`);
    if (existsSync(spansFile))
      for (const s of (JSON.parse(readFileSync(spansFile, 'utf8')) as { spans: StoredSpan[] }).spans)
        (byTrace.get(s.traceId) ?? byTrace.set(s.traceId, []).get(s.traceId)!).push(s);
  }
  if (!requests.length) {
    io.err(`drill coverage: no run in ${pack} sampled a critical journey: nothing to measure (that is not a pass)`);
    return ExitCode.fail;
  }
  const c = traceCoverage(requests, (id) => byTrace.get(id) ?? []);
  if (values.json) io.out(JSON.stringify({ ...c, min }, null, 2));
  else {
    io.out(
      `trace coverage ${(c.value * 100).toFixed(1)} % (${c.complete}/${c.total} requests complete; gate ${(min * 100).toFixed(0)} %) — ${c.value >= min ? 'PASS' : 'FAIL'}`,
    );
    for (const [path, p] of Object.entries(c.perPath)) {
      const missing = Object.entries(p.missingSpans)
        .map(([s, n]) => `${s} ×${n}`)
        .join(', ');
      io.out(`  ${p.complete === p.total ? '✓' : '✗'} ${path.padEnd(44)} ${p.complete}/${p.total}${missing ? `  missing: ${missing}` : ''}`);
    }
  }
  return c.value >= min ? ExitCode.pass : ExitCode.fail;
}
