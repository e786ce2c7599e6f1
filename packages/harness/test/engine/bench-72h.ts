// Benchmark, not a test: a 72-hour bake with a 1 s steady-state probe on the virtual
// clock. Prints wall and CPU time. Run: node --import tsx packages/harness/test/engine/bench-72h.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/engine/clock.ts';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { MemoryRunLog } from '../../src/engine/run-log.ts';
import { runTimeline } from '../../src/engine/timeline.ts';
import { defineGameDay, probe } from '../../src/define/index.ts';
import { findRecovery } from '../../src/measure/episodes.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-bench-'));
try {
  const clock = new VirtualClock();
  const log = new MemoryRunLog();
  const drill = defineGameDay({
    name: 'bake',
    environments: ['local'],
    steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
    phases: [{ name: 'bake', duration: '72h' }],
  });
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const outcome = await runTimeline(drill.plan, {
    findRecovery,
    runId: 'run-bench',
    environmentName: 'local',
    environment: { kind: 'local' },
    clock,
    sink: log,
    journal: new RollbackJournal(join(dir, 'journal.jsonl')),
    chooseProvider: () => {
      throw new Error('no fault in this drill');
    },
    resolveTarget: (n) => n,
    runProbe: async () => ({ ok: true, started: clock.now(), latencyMs: 3 }),
  });
  const cpu = process.cpuUsage(cpu0);
  const probes = log.events.filter((e) => e.kind === 'probe').length;
  console.log(
    JSON.stringify({
      status: outcome.status,
      virtualHours: (outcome.endedAt - outcome.startedAt) / 3_600_000,
      probes,
      events: log.events.length,
      jumps: clock.jumps,
      turns: clock.turns,
      wallMs: Math.round(performance.now() - wall0),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
