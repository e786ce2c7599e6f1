// The timeline runner: steady-state probes for the whole run, phases in order, each
// fault journaled before it goes in and reverted when its time is up, recovery awaited,
// stop conditions checked on every event. Whatever happens — a stop condition, Ctrl-C,
// a provider throwing — every fault that went in is taken out before this returns.
import type { DrillPlan, EnvironmentConfig, FaultSpec, PhasePlan, ProbeSpec } from '../define/types.ts';
import type { RollbackJournal } from './journal.ts';
import type { Clock, FaultProvider, FaultSummary, ProviderContext, RevertReason, RevertRecord, RunEvent, RunLogSink } from './types.ts';

export interface ProbeOutcome {
  ok: boolean;
  /** Clock time the probe was sent. */
  started: number;
  latencyMs?: number;
  status?: number;
  value?: number;
  error?: string;
}

export interface BackgroundTask {
  name: string;
  start(sink: RunLogSink, signal: AbortSignal): Promise<void> | void;
  stop(): Promise<void>;
}

/** A fault that stays in until the team mitigates it (`until: 'mitigated'`), as the mitigation feed sees it. */
export interface AwaitedMitigation {
  faultId: string;
  phase: PhasePlan;
  tInject: number;
}

/** One attempt of the team to take a fault out, reported once it has finished; the timeline records it. */
export interface MitigationReport {
  /** Clock time the attempt started (the script was started, the person marked it). */
  startedAt: number;
  by: 'alert-remediation' | 'person';
  ok: boolean;
  alert?: string;
  script?: string;
  exitCode?: number | null;
  output?: string;
  note?: string;
  /** The person asked the harness to run the fault's own revert now. */
  revert?: boolean;
}

/** Where mitigations come from: an alert-driven remediation script, a person's `drill mitigate`. */
export interface MitigationFeed {
  /**
   * Watches for mitigations of one fault and reports each attempt. Once `signal` aborts it starts
   * nothing new, stops what runs, and the returned promise resolves after the last report.
   */
  watch(fault: AwaitedMitigation, report: (m: MitigationReport) => void, signal: AbortSignal): Promise<void>;
}

export interface StopBreach {
  condition: string;
  detail: string;
}

export interface TimelineProgress {
  phase: string;
  phaseIndex: number;
  phases: number;
  elapsedMs: number;
  /** What the runner is doing or waiting for. */
  activity: string;
  /** What comes after the current phase (the next phase's name, or the closing steady-state check). */
  next: string;
}

/**
 * Where a run of N consecutive passes of every probe starts in `results` at or after `from`, or -1.
 * The measures define it (measure/episodes.ts `findRecovery`); the caller hands it in, so the engine
 * waits for recovery by exactly the rule TTR is measured with, without importing measure/.
 */
export type RecoveryRule = (results: readonly Extract<RunEvent, { kind: 'probe' }>[], probes: readonly string[], n: number, from: number) => number;

export interface TimelineDeps {
  runId: string;
  /** The recovery rule (pass measure/episodes.ts `findRecovery`). */
  findRecovery: RecoveryRule;
  /** Milliseconds a provider's inject may take before the fault counts as failed (default INJECT_TIMEOUT_MS). */
  injectTimeout?: number;
  environmentName: string;
  environment: EnvironmentConfig;
  clock: Clock;
  sink: RunLogSink;
  journal: RollbackJournal;
  chooseProvider: (fault: FaultSpec) => FaultProvider;
  resolveTarget: (name: string) => unknown;
  runProbe: (probe: ProbeSpec, signal: AbortSignal) => Promise<ProbeOutcome>;
  /** Called with every event; returns a breach to abort the run. */
  checkStop?: (event: RunEvent) => StopBreach | undefined;
  background?: BackgroundTask[];
  signal?: AbortSignal;
  /** A fault still in this long after its duration is reverted as overdue (default 30 s). */
  recoveryGrace?: number;
  /** How long the steady state may take to hold before the first fault (default: 3 intervals of the slowest probe + its timeout). */
  steadyStateWait?: number;
  onProgress?: (p: TimelineProgress) => void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Mitigations of faults that stay until mitigated; without it such a fault waits for its deadline. */
  mitigations?: MitigationFeed;
}

export interface TimelineOutcome {
  status: 'completed' | 'aborted' | 'error';
  reason?: string;
  startedAt: number;
  endedAt: number;
}

/** A fault as the run log keeps it: its definition minus functions (custom actions). */
export function summariseFault(fault: FaultSpec): FaultSummary {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fault)) out[k] = typeof v === 'function' ? '[function]' : v;
  return out as FaultSummary;
}

class Aborted extends Error {}

/** How many times a throwing revert is tried before it is left to `drill recover`. */
const REVERT_ATTEMPTS = 3;

/** How long a provider's inject may take before the fault counts as failed and is taken out (default). */
export const INJECT_TIMEOUT_MS = 300_000;

/**
 * A provider's inject, bounded: it ends when the run ends (Ctrl-C, a stop condition) even if the
 * provider ignores the signal (a team's function), and fails after `timeoutMs` on the run's clock.
 */
async function bounded<T>(work: Promise<T>, clock: Clock, signal: AbortSignal, timeoutMs: number, what: string): Promise<T> {
  const timer = new AbortController();
  const onAbort = () => timer.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const outcome = await Promise.race([
      work.then((value) => ({ value })),
      clock.sleep(timeoutMs, timer.signal).then(
        () => ({ late: true as const }),
        () => ({ aborted: true as const }),
      ),
    ]);
    if ('value' in outcome) return outcome.value;
    if ('late' in outcome) throw new Error(`${what} did not finish within ${timeoutMs} ms`);
    throw new Aborted(`${what} interrupted: the run ended`);
  } finally {
    timer.abort();
    signal.removeEventListener('abort', onAbort);
  }
}

interface ActiveFault {
  record: RevertRecord;
  provider: FaultProvider;
  tInject: number;
  /** When the engine considers it overdue. */
  overdueAt?: number;
  reverting?: Promise<void>;
}

type ProbeEvent = Extract<RunEvent, { kind: 'probe' }>;

/** Every probe result in arrival order, for "recovered since t?" — the same rule the measures use. */
class ProbeBoard {
  private results: ProbeEvent[] = [];
  private readonly passedOnce = new Set<string>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly probes: string[],
    private readonly findRecovery: RecoveryRule,
  ) {}

  /** Keeps the run log's own event: no copy per probe result. */
  add(event: ProbeEvent): void {
    this.results.push(event);
    if (event.ok) this.passedOnce.add(event.probe);
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves on the next probe result (or `wake`). */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Wakes whoever waits for a result, to check again (a mitigation was reported). */
  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  everyPassedOnce(): boolean {
    return this.probes.every((p) => this.passedOnce.has(p));
  }

  /** A run of N consecutive passes of every probe has started at or after `since` (measure/episodes.ts's rule). */
  recoveredSince(since: number, n: number): boolean {
    let from = this.results.length;
    while (from > 0 && this.results[from - 1]!.started >= since) from--;
    if (from > this.probes.length) {
      // `since` only moves forward: what came before it matters only as each probe's
      // latest result, so a long bake does not rescan hours of results on every check.
      const latest = new Map<string, ProbeEvent>();
      for (let i = 0; i < from; i++) latest.set(this.results[i]!.probe, this.results[i]!);
      this.results = [...latest.values(), ...this.results.slice(from)];
      from = latest.size;
    }
    return this.findRecovery(this.results, this.probes, n, from) >= 0;
  }
}

/**
 * The faults in right now, and the one way each goes out: the provider's revert, retried, then
 * recorded in the journal (or left there for `drill recover` when it keeps failing).
 */
class ActiveFaults {
  private readonly faults = new Map<string, ActiveFault>();

  constructor(
    private readonly io: { sink: RunLogSink; clock: Clock; journal: RollbackJournal; log: (level: 'info' | 'warn' | 'error', message: string) => void },
  ) {}

  get size(): number {
    return this.faults.size;
  }
  has(faultId: string): boolean {
    return this.faults.has(faultId);
  }
  set(faultId: string, fault: ActiveFault): void {
    this.faults.set(faultId, fault);
  }
  entries(): IterableIterator<[string, ActiveFault]> {
    return this.faults.entries();
  }
  values(): IterableIterator<ActiveFault> {
    return this.faults.values();
  }
  [Symbol.iterator](): IterableIterator<[string, ActiveFault]> {
    return this.faults.entries();
  }

  /** Takes one fault out (once, however often asked); a revert that throws is retried before it is given up. */
  revert(faultId: string, reason: RevertReason): Promise<void> {
    const { sink, clock, journal, log } = this.io;
    const f = this.faults.get(faultId);
    if (!f) return Promise.resolve();
    if (f.reverting) return f.reverting;
    f.reverting = (async () => {
      sink.append({ t: clock.now(), kind: 'fault.reverting', faultId, reason });
      // A fresh signal: reverting must finish even when the run was aborted. Providers' reverts
      // are idempotent, so a revert that throws is tried again before it is given up to the journal.
      const revertCtx = {
        log,
        signal: new AbortController().signal,
        step: (name: string, detail?: Record<string, unknown>) => sink.append({ t: clock.now(), kind: 'step', name, ...(detail ? { detail } : {}) }),
      };
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await f.provider.revert(f.record, revertCtx);
            journal.recordDone(faultId);
            sink.append({ t: clock.now(), kind: 'fault.reverted', faultId });
            return;
          } catch (err) {
            const message = (err as Error).message;
            if (attempt < REVERT_ATTEMPTS) {
              sink.append({
                t: clock.now(),
                kind: 'log',
                level: 'warn',
                message: `revert of ${faultId} failed (attempt ${attempt} of ${REVERT_ATTEMPTS}): ${message}; trying again`,
              });
              await clock.sleep(1_000 * attempt);
              continue;
            }
            journal.recordFailed(faultId, message);
            sink.append({ t: clock.now(), kind: 'fault.revert-failed', faultId, error: message });
            log('error', `revert of ${faultId} failed: ${message}; it stays in the journal for 'drill recover'`);
            return;
          }
        }
      } finally {
        this.faults.delete(faultId);
        journal.releaseLive(faultId);
      }
    })();
    return f.reverting;
  }

  /**
   * The team's action took the fault out and the probes confirm it: the journal entry is done and
   * the provider's revert is NOT run (a migration's rollback cannot run twice).
   */
  takenOut(faultId: string): void {
    const { sink, clock, journal } = this.io;
    const f = this.faults.get(faultId);
    if (!f || f.reverting) return;
    f.reverting = Promise.resolve();
    sink.append({ t: clock.now(), kind: 'fault.reverting', faultId, reason: 'mitigated' });
    journal.recordDone(faultId);
    sink.append({ t: clock.now(), kind: 'fault.reverted', faultId });
    this.faults.delete(faultId);
    journal.releaseLive(faultId);
  }

  /** Every fault still in goes out at once. */
  revertAll(reason: RevertReason): Promise<void[]> {
    return Promise.all([...this.faults.keys()].map((id) => this.revert(id, reason)));
  }
}

/**
 * One steady-state probe, for the whole run. A call that outlived its timeout is not sent again on
 * top of itself: until it answers, each interval records "still no answer" instead, so a hung
 * target never piles up probes. Sequential by design: a probe slower than its interval runs back to back.
 */
async function runProbeLoop(
  probe: ProbeSpec,
  io: { clock: Clock; runProbe: TimelineDeps['runProbe']; signal: AbortSignal; onResult: (event: ProbeEvent) => void },
): Promise<void> {
  const { clock, signal } = io;
  let inFlight: Promise<ProbeOutcome> | undefined;
  while (!signal.aborted) {
    const sentAt = clock.now();
    const stuck = inFlight !== undefined;
    let outcome: ProbeOutcome | undefined;
    try {
      inFlight ??= io.runProbe(probe, signal);
      // The timer is left to run out rather than cancelled: cancelling needs an AbortController per
      // probe, which costs more than the timer (with the default timeout it wakes with the next probe).
      outcome = (await Promise.race([inFlight, clock.sleep(probe.timeout, signal)])) ?? undefined;
      if (outcome) inFlight = undefined;
      else
        outcome = {
          ok: false,
          started: sentAt,
          latencyMs: probe.timeout,
          error: stuck ? 'no answer yet (the previous probe is still in flight)' : `timed out after ${probe.timeout} ms`,
        };
    } catch (err) {
      if (signal.aborted) break;
      inFlight = undefined;
      outcome = { ok: false, started: sentAt, error: (err as Error).message };
    }
    if (signal.aborted) break;
    const event: ProbeEvent = { t: clock.now(), kind: 'probe', probe: probe.name, ok: outcome.ok, started: outcome.started };
    if (outcome.latencyMs !== undefined) event.latencyMs = outcome.latencyMs;
    if (outcome.status !== undefined) event.status = outcome.status;
    if (outcome.value !== undefined) event.value = outcome.value;
    if (outcome.error !== undefined) event.error = outcome.error;
    io.onResult(event);
    try {
      await clock.sleep(Math.max(0, probe.every - (clock.now() - sentAt)), signal);
    } catch {
      break;
    }
  }
}

export async function runTimeline(plan: DrillPlan, deps: TimelineDeps): Promise<TimelineOutcome> {
  const { clock, sink, journal } = deps;
  const log = deps.log ?? (() => {});
  const grace = deps.recoveryGrace ?? 30_000;
  const run = new AbortController();
  const probesStop = new AbortController();
  // Why the run ended early, with the revert reason it implies (typed, never read back from text).
  let ending: { status: 'aborted' | 'error'; reason: string; revert: RevertReason } | undefined;
  const active = new ActiveFaults({ sink, clock, journal, log });
  const revertFault = (faultId: string, reason: RevertReason) => active.revert(faultId, reason);
  const takenOut = (faultId: string) => active.takenOut(faultId);
  const board = new ProbeBoard(
    plan.steadyState.map((p) => p.name),
    deps.findRecovery,
  );
  const startedAt = clock.now();
  let phaseName = '(start)';
  let phaseIndex = -1;
  let lastInject = startedAt;

  const abort = (status: 'aborted' | 'error', reason: string, revert: RevertReason) => {
    if (ending) return;
    ending = { status, reason, revert };
    run.abort(new Aborted(reason));
  };

  const emit = (event: RunEvent) => {
    sink.append(event);
    if (ending || !deps.checkStop) return;
    const breach = deps.checkStop(event);
    if (breach) {
      sink.append({ t: clock.now(), kind: 'stop.breached', condition: breach.condition, detail: breach.detail });
      abort('aborted', `stop condition: ${breach.condition} (${breach.detail})`, 'stop-condition');
    }
  };

  const onExternalAbort = () => abort('aborted', `signal: ${String((deps.signal?.reason as Error)?.message ?? deps.signal?.reason ?? 'aborted')}`, 'signal');
  if (deps.signal?.aborted) onExternalAbort();
  deps.signal?.addEventListener('abort', onExternalAbort, { once: true });

  const progress = (activity: string) =>
    deps.onProgress?.({
      phase: phaseName,
      phaseIndex,
      phases: plan.phases.length,
      elapsedMs: clock.now() - startedAt,
      activity,
      next: plan.phases[phaseIndex + 1]?.name ?? (phaseName === '(after)' ? 'end' : 'steady-state check'),
    });

  const ctx: ProviderContext = {
    environmentName: deps.environmentName,
    environment: deps.environment,
    clock,
    signal: run.signal,
    log,
    resolveTarget: deps.resolveTarget,
  };

  /** Sleeps on the run's clock; throws Aborted when the run ends early. */
  const sleep = async (ms: number) => {
    try {
      await clock.sleep(ms, run.signal);
    } catch {
      throw new Aborted(ending?.reason ?? 'aborted');
    }
  };

  /** Waits until `done()` holds, re-checking after each probe result; false when `timeoutMs` passes first. */
  const waitUntil = async (done: () => boolean, timeoutMs: number): Promise<boolean> => {
    const deadline = clock.now() + timeoutMs;
    while (!done()) {
      if (run.signal.aborted) throw new Aborted(ending?.reason ?? 'aborted');
      const remaining = deadline - clock.now();
      if (remaining <= 0) return false;
      const timer = new AbortController();
      const onRunAbort = () => timer.abort();
      run.signal.addEventListener('abort', onRunAbort, { once: true });
      await Promise.race([board.next(), clock.sleep(remaining, timer.signal).catch(() => {})]);
      timer.abort();
      run.signal.removeEventListener('abort', onRunAbort);
    }
    return true;
  };

  /**
   * `until: 'mitigated'`: the fault stays in until a successful mitigation is followed by recovery (or
   * a person asks for the revert); at the deadline the harness takes it out itself.
   */
  const awaitMitigation = async (phase: PhasePlan, f: ActiveFault) => {
    const faultId = f.record.faultId;
    const deadline = phase.deadline ?? phase.expect?.recoverWithin ?? 60_000;
    const deadlineAt = f.tInject + deadline;
    let mitigated = false;
    let revertAsked = false;
    let lastError: string | undefined;
    const stopWatch = new AbortController();
    const watching = deps.mitigations?.watch(
      { faultId, phase, tInject: f.tInject },
      (m) => {
        const event: Extract<RunEvent, { kind: 'mitigation' }> = { t: m.startedAt, kind: 'mitigation', faultId, phase: phase.name, by: m.by, ok: m.ok };
        if (m.alert !== undefined) event.alert = m.alert;
        if (m.script !== undefined) event.script = m.script;
        if (m.exitCode !== undefined) event.exitCode = m.exitCode;
        if (m.output !== undefined) event.output = m.output;
        if (m.note !== undefined) event.note = m.note;
        emit(event);
        if (m.ok) mitigated = true;
        else lastError = `${m.script ?? m.by} failed${m.exitCode !== undefined ? ` (exit ${m.exitCode})` : ''}`;
        if (m.ok && m.revert) revertAsked = true;
        board.wake();
      },
      stopWatch.signal,
    );
    progress(`fault in until mitigated (deadline ${deadline} ms)`);
    let done = false;
    try {
      done = await waitUntil(() => revertAsked || (mitigated && board.recoveredSince(f.tInject, plan.recoveryPasses)), Math.max(0, deadlineAt - clock.now()));
    } finally {
      // Nothing new starts; a script still running is stopped and reports before any revert.
      stopWatch.abort();
      await watching;
    }
    if (done && revertAsked) return revertFault(faultId, 'mitigated');
    if (done) return takenOut(faultId);
    const why = mitigated ? 'mitigated but not recovered' : `not mitigated${lastError ? ` (${lastError})` : ''}`;
    const message = `phase ${phase.name}: ${why} within the deadline of ${deadline} ms: the harness reverts the fault`;
    emit({ t: clock.now(), kind: 'log', level: 'warn', message });
    await revertFault(faultId, 'deadline');
  };

  // ── watchdog: overdue faults and a progress tick ──
  let watchdogWake = new AbortController();
  const watchdog = async () => {
    while (!probesStop.signal.aborted) {
      const now = clock.now();
      for (const [id, f] of active) {
        if (f.overdueAt !== undefined && now >= f.overdueAt && !f.reverting) {
          emit({ t: now, kind: 'log', level: 'warn', message: `fault ${id} still in ${grace} ms after its duration: reverting it as overdue` });
          void revertFault(id, 'overdue');
        }
      }
      progress(active.size ? `${active.size} fault(s) in` : 'observing');
      // A person watches a real run: tick every second. Virtual time needs only the deadlines.
      const tick = clock.kind === 'real' ? 1_000 : 3_600_000;
      let nextOverdue = Infinity;
      for (const f of active.values()) if (!f.reverting && f.overdueAt !== undefined && f.overdueAt < nextOverdue) nextOverdue = f.overdueAt;
      watchdogWake = new AbortController();
      try {
        await clock.sleep(Math.max(1, Math.min(tick, nextOverdue - clock.now())), AbortSignal.any([probesStop.signal, watchdogWake.signal]));
      } catch {
        if (probesStop.signal.aborted) break;
      }
    }
  };

  const injectPhaseFault = async (phase: PhasePlan & { fault: FaultSpec }, index: number): Promise<ActiveFault> => {
    const faultId = `${deps.runId}-${index}-${phase.name}`;
    const provider = deps.chooseProvider(phase.fault);
    const record = await provider.prepare(phase.fault, faultId, ctx);
    journal.recordPending(record);
    journal.holdLive(faultId);
    emit({ t: clock.now(), kind: 'fault.injecting', faultId, phase: phase.name, provider: provider.name, fault: summariseFault(phase.fault) });
    progress(`injecting ${phase.fault.kind}`);
    try {
      const injected = await bounded(
        provider.inject(phase.fault, record, ctx),
        clock,
        run.signal,
        deps.injectTimeout ?? INJECT_TIMEOUT_MS,
        `inject of ${faultId}`,
      );
      const f: ActiveFault = { record, provider, tInject: injected.tInject };
      const duration = 'duration' in phase.fault ? phase.fault.duration : undefined;
      if (duration) f.overdueAt = injected.tInject + duration + grace;
      active.set(faultId, f);
      lastInject = injected.tInject;
      watchdogWake.abort(); // a new deadline to watch
      emit({ t: injected.tInject, kind: 'fault.injected', faultId, targets: injected.targets });
      return f;
    } catch (err) {
      emit({ t: clock.now(), kind: 'fault.inject-failed', faultId, error: (err as Error).message });
      // The fault may be partly in: revert through the same path (for the run's own reason if it ended).
      active.set(faultId, { record, provider, tInject: clock.now() });
      await revertFault(faultId, err instanceof Aborted ? (ending?.revert ?? 'signal') : 'error');
      throw err;
    }
  };

  const runPhase = async (phase: PhasePlan, index: number) => {
    phaseName = phase.name;
    phaseIndex = index;
    const phaseStart = clock.now();
    emit({ t: phaseStart, kind: 'phase.started', phase: phase.name });
    progress(phase.fault ? `fault ${phase.fault.kind}` : 'waiting');
    if (!phase.fault) {
      await sleep(phase.duration ?? 0);
    } else {
      const f = await injectPhaseFault(phase as PhasePlan & { fault: FaultSpec }, index);
      const faultId = f.record.faultId;
      const duration = 'duration' in phase.fault ? phase.fault.duration : undefined;
      if (phase.until === 'mitigated') await awaitMitigation(phase, f);
      else if (duration) {
        progress(`fault in for ${duration} ms`);
        await sleep(Math.max(0, f.tInject + duration - clock.now()));
        await revertFault(faultId, 'duration-elapsed');
      }
      const outAt = clock.now();
      const recoverWithin = phase.expect?.recoverWithin ?? 60_000;
      progress('waiting for recovery');
      // Recovered: every probe passed N times in a row, all sent after the fault went in.
      const ok = await waitUntil(() => board.recoveredSince(f.tInject, plan.recoveryPasses), Math.max(0, outAt + recoverWithin - clock.now()));
      if (!ok) emit({ t: clock.now(), kind: 'log', level: 'warn', message: `phase ${phase.name}: not recovered within ${recoverWithin} ms` });
      // One-shot faults (pod-kill) are "in" until the provider says otherwise; close them now.
      if (active.has(faultId)) await revertFault(faultId, 'phase-ended');
      if (phase.duration !== undefined) await sleep(Math.max(0, phaseStart + phase.duration - clock.now()));
    }
    emit({ t: clock.now(), kind: 'phase.ended', phase: phase.name, outcome: 'completed' });
  };

  emit({ t: startedAt, kind: 'run.started', runId: deps.runId, drill: plan.name, environment: deps.environmentName, clock: clock.kind });
  const loops: Promise<void>[] = [];
  const background = deps.background ?? [];
  let status: TimelineOutcome['status'] = 'completed';
  let reason: string | undefined;
  try {
    for (const task of background) await task.start(sink, run.signal);
    const onResult = (event: ProbeEvent) => {
      board.add(event);
      emit(event);
    };
    for (const p of plan.steadyState) loops.push(runProbeLoop(p, { clock, runProbe: deps.runProbe, signal: probesStop.signal, onResult }));
    loops.push(watchdog());
    if (plan.steadyState.length > 0) {
      phaseName = '(steady state)';
      progress('checking the steady state');
      const slowest = plan.steadyState.reduce((m, p) => Math.max(m, p.every + p.timeout), 0);
      const held = await waitUntil(() => board.everyPassedOnce(), deps.steadyStateWait ?? 3 * slowest);
      if (!held) throw Object.assign(new Error('steady state did not hold before the first fault'), { status: 'error' as const });
    }
    for (const [i, phase] of plan.phases.entries()) await runPhase(phase, i);
    if (plan.steadyState.length > 0) {
      phaseName = '(after)';
      progress('checking the steady state after the drill');
      const bound = plan.phases.reduce((m, p) => Math.max(m, p.expect?.recoverWithin ?? 0), 30_000);
      const held = await waitUntil(() => board.recoveredSince(lastInject, plan.recoveryPasses), bound);
      if (!held) emit({ t: clock.now(), kind: 'log', level: 'warn', message: 'the steady state did not hold again after the last phase' });
    }
  } catch (err) {
    if (err instanceof Aborted || run.signal.aborted) {
      status = ending?.status ?? 'aborted';
      reason = ending?.reason ?? (err as Error).message;
    } else {
      status = 'error';
      reason = (err as Error).message;
      ending ??= { status: 'error', reason, revert: 'error' };
    }
    if (phaseIndex >= 0 && phaseName === plan.phases[phaseIndex]?.name)
      sink.append({ t: clock.now(), kind: 'phase.ended', phase: phaseName, outcome: 'aborted' });
  } finally {
    // Every fault still in goes out at once, whatever ended the run.
    await active.revertAll(ending?.revert ?? 'phase-ended');
    probesStop.abort();
    await Promise.allSettled(loops);
    for (const task of background) await task.stop().catch((e: unknown) => log('warn', `stopping ${task.name}: ${(e as Error).message}`));
    deps.signal?.removeEventListener('abort', onExternalAbort);
  }
  return { status, ...(reason ? { reason } : {}), startedAt, endedAt: clock.now() };
}
