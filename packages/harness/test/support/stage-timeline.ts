// The ground-truth tests drive the engine directly (no session, no pack) against a stage
// they started themselves: one provider, the stage's targets, the real probes.
import { join } from 'node:path';
import type { DrillPlan } from '../../src/define/types.ts';
import type { Clock, FaultProvider } from '../../src/engine/types.ts';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { runTimeline, type TimelineDeps } from '../../src/engine/timeline.ts';
import { runProbe, type ProbeEnvironment } from '../../src/observe/probes.ts';
import type { MemoryRunLog } from '../../src/engine/run-log.ts';
import { findRecovery } from '../../src/measure/episodes.ts';

export function runTimelineOnStage(
  plan: DrillPlan,
  o: {
    runId: string;
    dir: string;
    clock: Clock;
    sink: MemoryRunLog;
    provider: FaultProvider;
    targets: Record<string, unknown>;
    probes: Omit<ProbeEnvironment, 'now'>;
    background?: TimelineDeps['background'];
  },
) {
  return runTimeline(plan, {
    findRecovery,
    runId: o.runId,
    environmentName: 'local',
    environment: { kind: 'local' },
    clock: o.clock,
    sink: o.sink,
    journal: new RollbackJournal(join(o.dir, 'journal.jsonl')),
    chooseProvider: () => o.provider,
    resolveTarget: (n) => o.targets[n],
    runProbe: (p, signal) => runProbe(p, { now: () => o.clock.now(), ...o.probes }, signal),
    ...(o.background ? { background: o.background } : {}),
  });
}
