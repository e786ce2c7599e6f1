// A fault that stays in until the team mitigates it (`until: 'mitigated'`), on the virtual clock:
// taken out by the team's action (no provider revert), by a person's revert, or by the harness
// at its safety deadline when the remediation failed — and the TTM/rollback measures of each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import { VirtualClock } from '../../src/engine/clock.ts';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { MemoryRunLog } from '../../src/engine/run-log.ts';
import { runTimeline, type MitigationFeed, type MitigationReport, type ProbeOutcome } from '../../src/engine/timeline.ts';
import type { FaultProvider, RevertRecord, RunEvent } from '../../src/engine/types.ts';
import { measureRun } from '../../src/measure/run.ts';
import { findRecovery } from '../../src/measure/episodes.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drillbook-mitigation-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A bad migration held in memory: in until someone takes it out; probes fail while it is in. */
function setup(clock: VirtualClock) {
  const inNow = new Set<string>();
  const calls: string[] = [];
  const provider: FaultProvider = {
    name: 'memory',
    supports: () => true,
    async prepare(_f, faultId): Promise<RevertRecord> {
      return { faultId, provider: 'memory', data: {}, description: `remove ${faultId}` };
    },
    async inject(_f, record) {
      inNow.add(record.faultId);
      return { tInject: clock.now(), targets: ['db'] };
    },
    async revert(record) {
      calls.push(`revert ${record.faultId}`);
      inNow.delete(record.faultId);
    },
    async status(record) {
      return { active: inNow.has(record.faultId), detail: '' };
    },
  };
  const runProbe = async (): Promise<ProbeOutcome> => ({ ok: inNow.size === 0, started: clock.now(), latencyMs: 1 });
  const drill = defineGameDay({
    name: 'migration',
    environments: ['local'],
    steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms' })],
    phases: [
      { name: 'warm-up', duration: '2s' },
      {
        name: 'bad-migration',
        fault: fault.migration({ target: 'db', apply: 'ALTER TABLE a RENAME TO b', rollback: 'ALTER TABLE b RENAME TO a' }),
        until: 'mitigated',
        deadline: '60s',
        remediate: { onAlert: 'RouteFailing', run: 'scripts/rollback.ts' },
        expect: { recoverWithin: '90s' },
      },
      { name: 'cool-down', duration: '2s' },
    ],
  });
  const log = new MemoryRunLog();
  const journal = new RollbackJournal(join(dir, 'journal.jsonl'));
  const run = (mitigations: MitigationFeed) =>
    runTimeline(drill.plan, {
      findRecovery,
      runId: 'run-m',
      environmentName: 'local',
      environment: { kind: 'local' },
      clock,
      sink: log,
      journal,
      chooseProvider: () => provider,
      resolveTarget: (n) => n,
      runProbe,
      mitigations,
    });
  const measure = (outcome: { status: 'completed' | 'aborted' | 'error'; startedAt: number; endedAt: number }) =>
    measureRun({ plan: drill.plan, events: log.events as RunEvent[], outcome, slos: {} });
  return { inNow, calls, drill, log, journal, run, measure };
}

/** A feed that, `after` ms into the fault, does `act` and reports what it returns (as a script would, once finished). */
function feedAfter(clock: VirtualClock, after: number, act: (faultId: string) => Omit<MitigationReport, 'startedAt'>, tookMs = 300): MitigationFeed {
  return {
    async watch(f, report, signal) {
      try {
        await clock.sleep(Math.max(0, f.tInject + after - clock.now()), signal);
      } catch {
        return;
      }
      const startedAt = clock.now();
      await clock.sleep(tookMs);
      report({ startedAt, ...act(f.faultId) });
    },
  };
}

describe('a fault that stays until mitigated', () => {
  it('is taken out by the remediation; the provider revert never runs; TTM and rollback duration are measured', async () => {
    const clock = new VirtualClock();
    const s = setup(clock);
    const outcome = await s.run(
      feedAfter(clock, 8_000, (id) => {
        s.inNow.delete(id); // the script's rollback
        return { by: 'alert-remediation', ok: true, alert: 'RouteFailing', script: 'scripts/rollback.ts', exitCode: 0, output: 'rolled back' };
      }),
    );
    expect(outcome.status).toBe('completed');
    expect(s.calls).toEqual([]); // the team's rollback took it out: running the provider's would fail
    expect(s.journal.pending()).toEqual([]);
    const reverting = s.log.events.find((e) => e.kind === 'fault.reverting');
    expect(reverting).toMatchObject({ reason: 'mitigated' });
    const mitigation = s.log.events.find((e) => e.kind === 'mitigation')!;
    const injected = s.log.events.find((e) => e.kind === 'fault.injected')!;
    expect(mitigation).toMatchObject({ by: 'alert-remediation', ok: true, script: 'scripts/rollback.ts', exitCode: 0, phase: 'bad-migration' });
    expect(mitigation.t - injected.t).toBe(8_000); // stamped with its START, written when it ended

    const m = s.measure(outcome);
    expect(m.measures['bad-migration.ttm']!.value).toBe(8_000);
    const rollback = m.measures['bad-migration.rollback']!.value!;
    // Recovery is the first probe sent after the script's 300 ms: at most one 500 ms interval later.
    expect(rollback).toBeGreaterThanOrEqual(300);
    expect(rollback).toBeLessThanOrEqual(300 + 500);
    expect(m.measures['bad-migration.ttr']!.value).toBe(8_000 + rollback);
    expect(m.checks.find((c) => c.name === 'bad-migration: mitigated before the deadline')).toMatchObject({ ok: true });
    expect(m.verdict).toBe('pass');
  });

  it("when the script fails, the harness reverts at the deadline and the episode fails with the script's error", async () => {
    const clock = new VirtualClock();
    const s = setup(clock);
    const outcome = await s.run(
      feedAfter(clock, 8_000, () => ({
        by: 'alert-remediation',
        ok: false,
        alert: 'RouteFailing',
        script: 'scripts/rollback.ts',
        exitCode: 1,
        output: 'connecting…\nerror: relation "b" does not exist',
      })),
    );
    expect(outcome.status).toBe('completed');
    expect(s.calls).toEqual(['revert run-m-1-bad-migration']); // the safety net
    expect(s.inNow.size).toBe(0);
    const reverting = s.log.events.find((e) => e.kind === 'fault.reverting')!;
    const injected = s.log.events.find((e) => e.kind === 'fault.injected')!;
    expect(reverting).toMatchObject({ reason: 'deadline' });
    expect(reverting.t - injected.t).toBe(60_000);

    const m = s.measure(outcome);
    expect(m.measures['bad-migration.ttm']!.value).toBeNull();
    expect(m.measures['bad-migration.rollback']!.value).toBeNull();
    const check = m.checks.find((c) => c.name === 'bad-migration: mitigated before the deadline')!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('not recovered in time');
    expect(check.detail).toContain('scripts/rollback.ts failed (exit 1): error: relation "b" does not exist');
    expect(m.verdict).toBe('fail');
  });

  it("a person's mitigation with --revert runs the fault's own revert at once", async () => {
    const clock = new VirtualClock();
    const s = setup(clock);
    const outcome = await s.run(feedAfter(clock, 20_000, () => ({ by: 'person', ok: true, note: 'rolled back 042', revert: true }), 0));
    expect(outcome.status).toBe('completed');
    expect(s.calls).toEqual(['revert run-m-1-bad-migration']);
    const reverting = s.log.events.find((e) => e.kind === 'fault.reverting')!;
    expect(reverting).toMatchObject({ reason: 'mitigated' });
    const m = s.measure(outcome);
    expect(m.measures['bad-migration.ttm']!.value).toBe(20_000);
    expect(m.verdict).toBe('pass');
    expect(s.log.events.find((e) => e.kind === 'mitigation')).toMatchObject({ by: 'person', note: 'rolled back 042' });
  });

  it('without any mitigation the fault goes out at its deadline', async () => {
    const clock = new VirtualClock();
    const s = setup(clock);
    const outcome = await s.run({ watch: async () => {} });
    expect(outcome.status).toBe('completed');
    expect(s.log.events.find((e) => e.kind === 'fault.reverting')).toMatchObject({ reason: 'deadline' });
    const m = s.measure(outcome);
    expect(m.checks.find((c) => c.name === 'bad-migration: mitigated before the deadline')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('not recovered in time'),
    });
  });
});

describe('until/deadline/remediate in a definition', () => {
  it('names the field and the fix for each misuse', () => {
    const base = { name: 'x', environments: ['local'], steadyState: [probe.http({ name: 'r', target: 'api', path: '/', every: '1s' })] };
    const bad = () =>
      defineGameDay({
        ...base,
        phases: [
          { name: 'a', duration: '1s', until: 'mitigated' },
          { name: 'b', fault: fault.podFailure({ target: 'api', duration: '5s' }), until: 'mitigated' },
          { name: 'c', fault: fault.podKill({ target: 'api' }), deadline: '5s', remediate: { onAlert: 'A', run: 'scripts/x.ts' } },
          { name: 'd', fault: fault.podKill({ target: 'api' }), until: 'mitigated', remediate: { onAlert: 'A', run: '../outside.sh' } },
        ],
      });
    expect(bad).toThrow(/phases\[0\]\.until/);
    expect(bad).toThrow(/phases\[1\]\.fault\.duration/);
    expect(bad).toThrow(/phases\[2\]\.deadline/);
    expect(bad).toThrow(/phases\[2\]\.remediate: [^\n]*\n\s*fix: add until: 'mitigated'/);
    expect(bad).toThrow(/phases\[3\]\.remediate\.run/);
  });

  it('defaults the deadline to recoverWithin and the script timeout to 1 m', () => {
    const d = defineGameDay({
      name: 'x',
      environments: ['local'],
      steadyState: [probe.http({ name: 'r', target: 'api', path: '/', every: '1s' })],
      phases: [
        {
          name: 'm',
          fault: fault.podKill({ target: 'api' }),
          until: 'mitigated',
          remediate: { onAlert: 'A', run: 'scripts/x.ts' },
          expect: { recoverWithin: '45s' },
        },
      ],
    });
    expect(d.plan.phases[0]).toMatchObject({ until: 'mitigated', deadline: 45_000, remediate: { onAlert: 'A', run: 'scripts/x.ts', timeout: 60_000 } });
  });
});
