// Contracts of the engine: the clock everything time-based goes through, the run
// log every measure reads, and the provider contract every fault goes through.
import type { EnvironmentConfig, FaultSpec, Millis } from '../define/types.ts';

// ─── clock ───────────────────────────────────────────────────────────────────

/**
 * Time for the engine. `RealClock` is wall time; `VirtualClock` jumps straight to the
 * next timer when nothing else is runnable, so a 72 h timeline runs in milliseconds.
 * Nothing in the engine calls Date.now() or setTimeout directly.
 */
export interface Clock {
  readonly kind: 'real' | 'virtual';
  /** Milliseconds since the Unix epoch, as this clock sees it. */
  now(): number;
  /** Resolves after `ms` on this clock; rejects with the signal's reason when aborted. */
  sleep(ms: Millis, signal?: AbortSignal): Promise<void>;
}

// ─── run log ─────────────────────────────────────────────────────────────────

/** One line of the append-only run log (JSON lines). `t` is the clock's time in ms. */
export type RunEvent =
  | { t: number; kind: 'run.started'; runId: string; drill: string; environment: string; clock: Clock['kind'] }
  | { t: number; kind: 'phase.started'; phase: string }
  | { t: number; kind: 'phase.ended'; phase: string; outcome: 'completed' | 'aborted' }
  | { t: number; kind: 'fault.injecting'; faultId: string; phase: string; provider: string; fault: FaultSummary }
  | { t: number; kind: 'fault.injected'; faultId: string; targets: string[] }
  | { t: number; kind: 'fault.inject-failed'; faultId: string; error: string }
  | { t: number; kind: 'fault.reverting'; faultId: string; reason: RevertReason }
  | { t: number; kind: 'fault.reverted'; faultId: string }
  | { t: number; kind: 'fault.revert-failed'; faultId: string; error: string }
  | {
      t: number;
      kind: 'probe';
      probe: string;
      ok: boolean;
      /** When the probe was sent; `t` is when its answer came. */
      started: number;
      latencyMs?: number;
      status?: number;
      value?: number;
      error?: string;
    }
  | { t: number; kind: 'alert'; alert: string; state: 'pending' | 'firing' | 'resolved'; source: 'prometheus' | 'alertmanager'; labels: Record<string, string> }
  | { t: number; kind: 'load.sample'; requests: number; failures: number; p50Ms: number; p95Ms: number; p99Ms: number; dropped: number; vus: number }
  | {
      /** When the mitigation STARTED (the script was started, the person marked it); written once it has finished. */
      t: number;
      kind: 'mitigation';
      faultId: string;
      phase: string;
      by: 'alert-remediation' | 'person';
      alert?: string;
      script?: string;
      exitCode?: number | null;
      /** The script's output (stdout and stderr interleaved), bounded. */
      output?: string;
      note?: string;
      ok: boolean;
    }
  | { t: number; kind: 'stop.breached'; condition: string; detail: string }
  | { t: number; kind: 'step'; name: string; detail?: Record<string, unknown> }
  | { t: number; kind: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { t: number; kind: 'run.ended'; verdict: Verdict; exitCode: ExitCode; reason?: string };

export type RunEventKind = RunEvent['kind'];

/** What a run log keeps of a fault: its definition minus functions. */
export type FaultSummary = Record<string, unknown> & { kind: FaultSpec['kind']; target?: string };

export type Verdict = 'pass' | 'fail' | 'aborted' | 'error';

/** The CLI's exit codes (DESIGN / issue #2). */
export const ExitCode = {
  pass: 0,
  fail: 1,
  usage: 2,
  aborted: 3,
  environment: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** `mitigated`: the team's own action took the fault out; `deadline`: it was not mitigated in time and the harness took it out. */
export type RevertReason =
  'duration-elapsed' | 'phase-ended' | 'stop-condition' | 'signal' | 'overdue' | 'recovery-after-crash' | 'error' | 'mitigated' | 'deadline';

/** Where events go. The engine writes; measures and the evidence pack read. */
export interface RunLogSink {
  append(event: RunEvent): void;
}

// ─── faults ──────────────────────────────────────────────────────────────────

/**
 * A revert that can be carried out by a later process (after a crash) knowing only
 * this record: the provider's name and JSON data. Written to the rollback journal,
 * fsynced, before the fault goes in.
 */
export interface RevertRecord {
  faultId: string;
  provider: string;
  /** Provider-specific, JSON-serialisable: pids to SIGCONT, a proxy control URL, an object to delete… */
  data: Record<string, unknown>;
  /** Wall time after which the engine treats the fault as overdue and reverts it. */
  deadline?: number;
  description: string;
}

export interface ProviderContext {
  environmentName: string;
  environment: EnvironmentConfig;
  clock: Clock;
  signal: AbortSignal;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Resolves a target name (`api`, `db`) to what this environment knows of it. */
  resolveTarget: (name: string) => unknown;
}

export interface RevertContext extends Pick<ProviderContext, 'log' | 'signal'> {
  /** Marks a named step of a long revert (a restore) in the run log, with the clock's time. */
  step?: (name: string, detail?: Record<string, unknown>) => void;
}

/** A fault that is in, as its provider reports it. */
export interface InjectedFault {
  /** Clock time at which the provider confirmed the fault in: `t_inject`. */
  tInject: number;
  /** Human-readable names of what was hit (pid 4121, replica-2, pod api-7c9…). */
  targets: string[];
}

export interface FaultStatus {
  active: boolean;
  detail: string;
}

/**
 * The code that injects and reverts one kind of fault in one kind of environment.
 * Providers never reach into each other; the engine chooses one per fault.
 */
export interface FaultProvider {
  readonly name: string;
  supports(fault: FaultSpec, environment: EnvironmentConfig): boolean;
  /** Decide the concrete targets and return the revert, without touching anything. */
  prepare(fault: FaultSpec, faultId: string, ctx: ProviderContext): Promise<RevertRecord>;
  /** Put the fault in; resolve when it is confirmed in. */
  inject(fault: FaultSpec, record: RevertRecord, ctx: ProviderContext): Promise<InjectedFault>;
  /** Take it out; resolve when it is confirmed out. Must be idempotent and work from the record alone. */
  revert(record: RevertRecord, ctx: RevertContext): Promise<void>;
  status(record: RevertRecord): Promise<FaultStatus>;
}
