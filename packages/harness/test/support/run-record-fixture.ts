// A run record built from a synthetic run log with known times, with measures computed
// by the real measure functions: consistent, so verify accepts it untampered.
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { incidentCount, measureEpisodes, mttr, mttrOwnRecovery } from '../../src/measure/episodes.ts';
import { measureBurn, samplesFromRunLog } from '../../src/measure/burn.ts';
import { decideVerdict } from '../../src/measure/verdict.ts';
import { RUN_RECORD_SCHEMA, type RunRecord } from '../../src/evidence/run-record.ts';

export const T0 = Date.UTC(2026, 10, 22, 22, 5, 1);

export function syntheticRunRecord(offset: number): RunRecord {
  const plan = defineGameDay({
    name: 'nightly',
    environments: ['local'],
    steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
    phases: [{ name: 'kill', fault: fault.podKill({ target: 'api' }), expect: { alerts: ['GraphApiReplicaDown'], recoverWithin: '60s' } }],
  }).plan;
  const start = T0 + offset;
  const tInject = start + 10_000;
  const events: RunEvent[] = [
    { t: start, kind: 'run.started', runId: `run-${offset}`, drill: 'nightly', environment: 'local', clock: 'real' },
    { t: tInject - 5, kind: 'fault.injecting', faultId: 'f1', phase: 'kill', provider: 'local-process', fault: { kind: 'pod-kill', target: 'api' } },
    { t: tInject, kind: 'fault.injected', faultId: 'f1', targets: ['replica-1'] },
    { t: tInject + 6_000, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'firing', source: 'prometheus', labels: {} },
  ];
  for (let t = start; t < start + 40_000; t += 1_000)
    events.push({ t: t + 2, kind: 'probe', probe: 'ready', ok: !(t >= tInject && t < tInject + 8_000), started: t });
  events.sort((a, b) => a.t - b.t);
  const episodes = measureEpisodes(events, plan);
  const { source, samples } = samplesFromRunLog(events);
  const burn = measureBurn(samples, 0.999, 30 * 86_400_000, start, start + 40_000, source);
  const { verdict, checks } = decideVerdict({ outcome: { status: 'completed' }, events, episodes });
  const measures: RunRecord['measures'] = {
    mttr: mttr(episodes),
    incidents: incidentCount(episodes),
    mttrOwnRecovery: mttrOwnRecovery(episodes),
    errorRatio: burn.errorRatio,
    burnRate: burn.burnRate,
    budgetConsumed: burn.budgetConsumed,
  };
  for (const e of episodes) Object.assign(measures, { [`${e.phase}.ttd`]: e.ttd, [`${e.phase}.ttr`]: e.ttr, [`${e.phase}.impact`]: e.impact });
  return {
    schema: RUN_RECORD_SCHEMA,
    runId: `run-${offset}`,
    drill: 'nightly',
    environment: 'local',
    startedAt: start,
    endedAt: start + 40_000,
    plan,
    events,
    measures,
    checks,
    verdict,
    exitCode: 0,
    facts: { database: 'postgres://drill:hunter2@127.0.0.1:5432/graph', apiToken: 'abc' },
    tool: { name: 'drillbook', version: 'test' },
  };
}
