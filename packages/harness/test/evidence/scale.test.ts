// A 72 h bake-like run with 1 s probes (259,200 probe events): measured, recorded, sealed and
// verified without a stack overflow (no spread of the event array into Math.max and the like).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { packDir } from '../../src/evidence/layout.ts';
import { RUN_RECORD_SCHEMA, writeRunRecord, type RunRecord } from '../../src/evidence/run-record.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import { measureBurn, samplesFromRunLog } from '../../src/measure/burn.ts';
import { incidentCount, measureEpisodes, mttr, mttrOwnRecovery } from '../../src/measure/episodes.ts';
import { decideVerdict } from '../../src/measure/verdict.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-scale-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HOURS = 72;
const PROBES = HOURS * 3600;

function longRun(): RunRecord {
  const plan = defineGameDay({
    name: 'bake-72h',
    environments: ['local'],
    steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
    phases: [{ name: 'kill', fault: fault.podKill({ target: 'api' }), expect: { alerts: ['GraphApiReplicaDown'], recoverWithin: '60s' } }],
  }).plan;
  const start = Date.UTC(2026, 10, 1);
  const tInject = start + 36 * 3_600_000;
  const events: RunEvent[] = [
    { t: start, kind: 'run.started', runId: 'run-72h', drill: 'bake-72h', environment: 'local', clock: 'real' },
    { t: tInject - 5, kind: 'fault.injecting', faultId: 'f1', phase: 'kill', provider: 'local-process', fault: { kind: 'pod-kill', target: 'api' } },
    { t: tInject, kind: 'fault.injected', faultId: 'f1', targets: ['replica-1'] },
    { t: tInject + 6_000, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'firing', source: 'prometheus', labels: {} },
  ];
  for (let i = 0; i < PROBES; i++) {
    const t = start + i * 1_000;
    events.push({ t: t + 2, kind: 'probe', probe: 'ready', ok: !(t >= tInject && t < tInject + 8_000), started: t });
  }
  events.sort((a, b) => a.t - b.t);
  const end = start + PROBES * 1_000;
  const episodes = measureEpisodes(events, plan);
  const { source, samples } = samplesFromRunLog(events);
  const burn = measureBurn(samples, 0.999, 30 * 86_400_000, start, end, source);
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
  const tool = { name: 'drillbook', version: 'test' };
  const head = { schema: RUN_RECORD_SCHEMA, runId: 'run-72h', drill: 'bake-72h', environment: 'local', startedAt: start, endedAt: end } as const;
  return { ...head, plan, events, measures, checks, verdict, exitCode: 0, tool };
}

describe('a 72 h run of 1 s probes', () => {
  it('is measured, sealed and verifies (259,200 probe events)', () => {
    const record = longRun();
    expect(record.events.filter((e) => e.kind === 'probe')).toHaveLength(259_200);
    expect(record.measures['kill.ttr']!.value).toBe(8_000);
    expect(record.verdict).toBe('pass');
    const keys = keygen(join(root, 'keys'));
    const written = writeRunRecord(join(root, 'evidence'), 'long', record);
    expect(statSync(written.path).size).toBeGreaterThan(10_000_000);
    const dir = packDir(join(root, 'evidence'), 'long');
    sealPack(dir, loadSigningKey(keys.privateKeyPath)!);
    const result = verifyPack(dir, { publicKey: loadPublicKey(keys.publicKeyPath) });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  }, 300_000);
});
