// The timeline on the virtual clock: a test provider whose state we can see, probes
// scripted to fail while a fault is in and for a known time after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/engine/clock.ts';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { MemoryRunLog } from '../../src/engine/run-log.ts';
import { runTimeline, type ProbeOutcome, type TimelineDeps } from '../../src/engine/timeline.ts';
import { findRecovery } from '../../src/measure/episodes.ts';
import type { FaultProvider, RevertRecord, RunEvent } from '../../src/engine/types.ts';
import { defineGameDay, fault, probe, stop } from '../../src/define/index.ts';

/** A provider over an in-memory set: what is "in" is visible to the test and the probes. */
function memoryProvider(clock: VirtualClock, opts: { failInject?: boolean } = {}) {
  const inNow = new Set<string>();
  const calls: string[] = [];
  const provider: FaultProvider = {
    name: 'memory',
    supports: () => true,
    async prepare(f, faultId): Promise<RevertRecord> {
      return { faultId, provider: 'memory', data: { kind: f.kind }, description: `remove ${faultId}` };
    },
    async inject(_f, record) {
      calls.push(`inject ${record.faultId}`);
      inNow.add(record.faultId);
      if (opts.failInject) throw new Error('provider exploded half-way');
      await clock.sleep(50); // the provider takes 50 ms to confirm
      return { tInject: clock.now(), targets: ['replica-1'] };
    },
    async revert(record) {
      calls.push(`revert ${record.faultId}`);
      inNow.delete(record.faultId);
    },
    async status(record) {
      return { active: inNow.has(record.faultId), detail: '' };
    },
  };
  return { provider, inNow, calls };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drillbook-timeline-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function deps(clock: VirtualClock, provider: FaultProvider, runProbe: TimelineDeps['runProbe'], extra: Partial<TimelineDeps> = {}) {
  const log = new MemoryRunLog();
  const journal = new RollbackJournal(join(dir, 'journal.jsonl'));
  const d: TimelineDeps = {
    findRecovery,
    runId: 'run-test',
    environmentName: 'local',
    environment: { kind: 'local' },
    clock,
    sink: log,
    journal,
    chooseProvider: () => provider,
    resolveTarget: (n) => n,
    runProbe,
    ...extra,
  };
  return { d, log, journal };
}

const kinds = (events: RunEvent[]) => events.filter((e) => e.kind !== 'probe' && e.kind !== 'log').map((e) => e.kind);

describe('timeline on the virtual clock', () => {
  it('runs phases in order, journals before inject, waits for N passes after recovery', async () => {
    const clock = new VirtualClock();
    const { provider, inNow } = memoryProvider(clock);
    let recoveredAt = Infinity;
    // Failing while the fault is in and for 3 s after it went in.
    const runProbe = async (): Promise<ProbeOutcome> => {
      const started = clock.now();
      if (inNow.size > 0 && recoveredAt === Infinity) recoveredAt = clock.now() + 3_000;
      return { ok: clock.now() >= recoveredAt || (inNow.size === 0 && recoveredAt === Infinity), started, latencyMs: 5 };
    };
    const drill = defineGameDay({
      name: 'kill',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '250ms' })],
      phases: [
        { name: 'warm-up', duration: '2s' },
        { name: 'kill', fault: fault.podKill({ target: 'api' }), expect: { recoverWithin: '30s' } },
        { name: 'cool-down', duration: '1s' },
      ],
    });
    const { d, log, journal } = deps(clock, provider, runProbe);
    let pendingWhenInjected = -1;
    const realInject = provider.inject.bind(provider);
    provider.inject = async (f, r, c) => {
      pendingWhenInjected = journal.pending().length;
      return realInject(f, r, c);
    };
    const outcome = await runTimeline(drill.plan, d);
    expect(outcome.status).toBe('completed');
    expect(pendingWhenInjected).toBe(1); // the revert was on disk before the fault went in
    expect(journal.pending()).toEqual([]);
    expect(inNow.size).toBe(0);
    expect(kinds(log.events)).toEqual([
      'run.started',
      'phase.started',
      'phase.ended',
      'phase.started',
      'fault.injecting',
      'fault.injected',
      'fault.reverting',
      'fault.reverted',
      'phase.ended',
      'phase.started',
      'phase.ended',
    ]);
    const injected = log.events.find((e) => e.kind === 'fault.injected')!;
    const killEnd = log.events.find((e) => e.kind === 'phase.ended' && e.phase === 'kill')!;
    // Recovery is the 3rd consecutive pass after recoveredAt: within one interval plus 3 probes.
    expect(killEnd.t - injected.t).toBeGreaterThanOrEqual(3_000);
    expect(killEnd.t - injected.t).toBeLessThanOrEqual(3_000 + 3 * 250 + 250);
  });

  it('aborts on a stop condition, reverts at once and ends aborted', async () => {
    const clock = new VirtualClock();
    const { provider, inNow, calls } = memoryProvider(clock);
    const runProbe = async (): Promise<ProbeOutcome> => ({ ok: inNow.size === 0, started: clock.now() });
    const drill = defineGameDay({
      name: 'stop',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '100ms' })],
      stopWhen: [stop.probeFailing({ probe: 'ready', for: 3 })],
      phases: [{ name: 'outage', fault: fault.dependencyOutage({ target: 'db', duration: '10m' }), expect: { recoverWithin: '1m' } }],
    });
    let failing = 0;
    const { d, log, journal } = deps(clock, provider, runProbe, {
      checkStop: (e) => {
        if (e.kind !== 'probe') return undefined;
        failing = e.ok ? 0 : failing + 1;
        return failing >= 3 ? { condition: 'probe ready failing 3 times', detail: `${failing} failures` } : undefined;
      },
    });
    const outcome = await runTimeline(drill.plan, d);
    expect(outcome.status).toBe('aborted');
    expect(outcome.reason).toMatch(/stop condition/);
    expect(inNow.size).toBe(0);
    expect(calls.filter((c) => c.startsWith('revert'))).toHaveLength(1);
    expect(journal.pending()).toEqual([]);
    const breach = log.events.find((e) => e.kind === 'stop.breached')!;
    const reverting = log.events.find((e) => e.kind === 'fault.reverting')!;
    expect(reverting).toMatchObject({ reason: 'stop-condition' });
    // Within one probe interval of the breach, not after the fault's 10 minutes.
    expect(reverting.t - breach.t).toBeLessThanOrEqual(100);
  });

  it('reverts a fault whose provider throws half-way through inject, and ends in error', async () => {
    const clock = new VirtualClock();
    const { provider, inNow } = memoryProvider(clock, { failInject: true });
    const runProbe = async (): Promise<ProbeOutcome> => ({ ok: true, started: clock.now() });
    const drill = defineGameDay({
      name: 'boom',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
      phases: [{ name: 'kill', fault: fault.podKill({ target: 'api' }) }],
    });
    const { d, log, journal } = deps(clock, provider, runProbe);
    const outcome = await runTimeline(drill.plan, d);
    expect(outcome).toMatchObject({ status: 'error', reason: 'provider exploded half-way' });
    expect(inNow.size).toBe(0);
    expect(journal.pending()).toEqual([]);
    expect(kinds(log.events)).toContain('fault.inject-failed');
  });

  it('an inject that never finishes (a team function ignoring the signal) fails after the inject timeout and is reverted; Ctrl-C ends it too', async () => {
    const clock = new VirtualClock();
    const { provider } = memoryProvider(clock);
    const reverts: string[] = [];
    const hanging: FaultProvider = { ...provider, inject: () => new Promise(() => {}), revert: async (r) => void reverts.push(r.faultId) };
    const runProbe = async (): Promise<ProbeOutcome> => ({ ok: true, started: clock.now() });
    const drill = defineGameDay({
      name: 'hang',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
      phases: [{ name: 'stuck', fault: fault.podKill({ target: 'api' }) }],
    });
    const late = deps(clock, hanging, runProbe, { injectTimeout: 60_000 });
    const outcome = await runTimeline(drill.plan, late.d);
    expect(outcome).toMatchObject({ status: 'error', reason: 'inject of run-test-0-stuck did not finish within 60000 ms' });
    expect(late.log.events.find((e) => e.kind === 'fault.inject-failed')).toBeDefined();
    expect(reverts).toEqual(['run-test-0-stuck']);
    expect(late.journal.pending()).toEqual([]);

    const controller = new AbortController();
    const interrupted = deps(clock, hanging, runProbe, { signal: controller.signal });
    const running = runTimeline(drill.plan, interrupted.d);
    while (!interrupted.log.events.some((e) => e.kind === 'fault.injecting')) await clock.sleep(1_000);
    controller.abort(new Error('SIGINT'));
    expect(await running).toMatchObject({ status: 'aborted', reason: 'signal: SIGINT' });
    expect(reverts).toEqual(['run-test-0-stuck', 'run-test-0-stuck']);
    expect(interrupted.log.events.find((e) => e.kind === 'fault.reverting')).toMatchObject({ reason: 'signal' });
  });

  it('aborts on an external signal (Ctrl-C) with every fault out', async () => {
    const clock = new VirtualClock();
    const { provider, inNow } = memoryProvider(clock);
    const runProbe = async (): Promise<ProbeOutcome> => ({ ok: true, started: clock.now() });
    const drill = defineGameDay({
      name: 'ctrl-c',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
      phases: [{ name: 'stress', fault: fault.stress({ target: 'api', duration: '1h', cpu: { workers: 1, load: 50 } }) }],
    });
    const controller = new AbortController();
    const { d, log } = deps(clock, provider, runProbe, { signal: controller.signal });
    const running = runTimeline(drill.plan, d);
    // Abort once the fault is in.
    while (!log.events.some((e) => e.kind === 'fault.injected')) await clock.sleep(1_000);
    controller.abort(new Error('SIGINT'));
    const outcome = await running;
    expect(outcome.status).toBe('aborted');
    expect(outcome.reason).toMatch(/signal: SIGINT/);
    expect(inNow.size).toBe(0);
    expect(log.events.find((e) => e.kind === 'fault.reverting')).toMatchObject({ reason: 'signal' });
  });

  it('refuses to inject when the steady state never holds', async () => {
    const clock = new VirtualClock();
    const { provider, calls } = memoryProvider(clock);
    const runProbe = async (): Promise<ProbeOutcome> => ({ ok: false, started: clock.now(), error: 'connection refused' });
    const drill = defineGameDay({
      name: 'sick',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
      phases: [{ name: 'kill', fault: fault.podKill({ target: 'api' }) }],
    });
    const { d } = deps(clock, provider, runProbe);
    const outcome = await runTimeline(drill.plan, d);
    expect(outcome).toMatchObject({ status: 'error', reason: 'steady state did not hold before the first fault' });
    expect(calls).toEqual([]);
  });

  it('runs a 72-hour timeline with 1 s probes in virtual time', async () => {
    const clock = new VirtualClock();
    const { provider } = memoryProvider(clock);
    let probes = 0;
    const runProbe = async (): Promise<ProbeOutcome> => {
      probes++;
      return { ok: true, started: clock.now() };
    };
    const drill = defineGameDay({
      name: 'bake',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
      phases: [{ name: 'bake', duration: '72h' }],
    });
    const { d, log } = deps(clock, provider, runProbe);
    const outcome = await runTimeline(drill.plan, d);
    expect(outcome.status).toBe('completed');
    const hours = (outcome.endedAt - outcome.startedAt) / 3_600_000;
    expect(hours).toBeGreaterThanOrEqual(72);
    expect(hours).toBeLessThan(72.1);
    expect(probes).toBeGreaterThanOrEqual(72 * 3600);
    expect(probes).toBeLessThanOrEqual(72 * 3600 + 2);
    expect(log.events.filter((e) => e.kind === 'probe').length).toBe(probes);
    // One jump per probe interval: the probe timeouts wake together with the next probe.
    expect(clock.jumps).toBe(72 * 3600);
  });

  it('fails a probe at its timeout on the run clock and never sends it again while the last one hangs', async () => {
    const clock = new VirtualClock();
    const { provider } = memoryProvider(clock);
    let sent = 0;
    let hangFrom = Infinity;
    let release: (() => void) | undefined;
    const runProbe = async (): Promise<ProbeOutcome> => {
      sent++;
      const started = clock.now();
      if (started >= hangFrom && !release) {
        // The target stops answering; the executor ignores its signal (the worst case).
        await new Promise<void>((r) => (release = r));
        return { ok: true, started, error: 'late answer' };
      }
      return { ok: true, started };
    };
    const drill = defineGameDay({
      name: 'hang',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s', timeout: '500ms' })],
      phases: [{ name: 'wait', duration: '10s' }],
    });
    const { d, log } = deps(clock, provider, runProbe);
    const running = runTimeline(drill.plan, d);
    hangFrom = clock.now() + 3_000;
    // Let it hang for 4 intervals, then answer.
    await clock.sleep(7_600);
    release!();
    const outcome = await running;
    expect(outcome.status).toBe('completed');
    const results = log.events.filter((e): e is Extract<RunEvent, { kind: 'probe' }> => e.kind === 'probe');
    const failed = results.filter((e) => !e.ok);
    expect(failed[0]).toMatchObject({ error: 'timed out after 500 ms', latencyMs: 500 });
    expect(failed[0]!.t - failed[0]!.started).toBe(500);
    expect(failed.slice(1).every((e) => e.error === 'no answer yet (the previous probe is still in flight)')).toBe(true);
    expect(failed.length).toBeGreaterThanOrEqual(4);
    // Nothing was sent on top of the hung call: every call sent got exactly one answer (the hung one late).
    expect(sent).toBe(results.length - failed.length);
    expect(results.some((e) => e.error === 'late answer')).toBe(true);
  });

  it('retries a revert that throws; one that keeps failing stays in the journal and the run still ends', async () => {
    const clock = new VirtualClock();
    const { provider, calls } = memoryProvider(clock);
    let failuresLeft = 2;
    const realRevert = provider.revert.bind(provider);
    provider.revert = async (r, c) => {
      if (failuresLeft-- > 0) throw new Error('api server busy');
      return realRevert(r, c);
    };
    const runProbe = async (): Promise<ProbeOutcome> => ({ ok: true, started: clock.now() });
    const drill = defineGameDay({
      name: 'flaky-revert',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
      phases: [{ name: 'lag', fault: fault.dependencyOutage({ target: 'db', duration: '5s' }), expect: { recoverWithin: '10s' } }],
    });
    const { d, log, journal } = deps(clock, provider, runProbe);
    expect((await runTimeline(drill.plan, d)).status).toBe('completed');
    expect(calls.filter((c) => c.startsWith('revert'))).toHaveLength(1);
    expect(log.events.filter((e) => e.kind === 'log' && e.level === 'warn' && /attempt \d of 3/.test(e.message))).toHaveLength(2);
    expect(journal.pending()).toEqual([]);

    // Now a revert that never works.
    const clock2 = new VirtualClock();
    const broken = memoryProvider(clock2);
    broken.provider.revert = async () => {
      throw new Error('permission denied');
    };
    const second = deps(clock2, broken.provider, async () => ({ ok: true, started: clock2.now() }));
    const outcome = await runTimeline(drill.plan, second.d);
    expect(outcome.status).toBe('completed'); // the caller's verdict sees the revert-failed event
    expect(second.log.events.find((e) => e.kind === 'fault.revert-failed')).toMatchObject({ error: 'permission denied' });
    expect(second.journal.pending().map((p) => p.record.faultId)).toEqual(['run-test-0-lag']);
  });

  it('tells the progress callback the phase, the elapsed time and what comes next', async () => {
    const clock = new VirtualClock();
    const { provider } = memoryProvider(clock);
    const seen: Array<{ phase: string; next: string; elapsedMs: number }> = [];
    const drill = defineGameDay({
      name: 'progress',
      environments: ['local'],
      steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
      phases: [
        { name: 'one', duration: '2s' },
        { name: 'two', duration: '2s' },
      ],
    });
    const { d } = deps(clock, provider, async () => ({ ok: true, started: clock.now() }), {
      onProgress: (p) => seen.push({ phase: p.phase, next: p.next, elapsedMs: p.elapsedMs }),
    });
    await runTimeline(drill.plan, d);
    expect(seen.find((p) => p.phase === 'one')).toMatchObject({ next: 'two' });
    expect(seen.find((p) => p.phase === 'two')).toMatchObject({ next: 'steady-state check' });
    expect(seen.find((p) => p.phase === '(after)')).toMatchObject({ next: 'end' });
    const elapsed = seen.map((p) => p.elapsedMs);
    expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));
  });
});
