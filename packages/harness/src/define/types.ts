// The validated shapes ("plans") that definitions turn into and the engine runs.
// Users write looser input (durations as '30s', optional fields); the schemas in
// this folder turn that input into these types or fail with a named field.
// Everything here is plain data (JSON-serialisable) except custom actions.

/** Milliseconds. User input may say '30s', '2m', '72h'; plans always hold numbers. */
export type Millis = number;

// ─── environments ────────────────────────────────────────────────────────────

// Environments and the config are exactly what define/config.ts's schemas output, so
// their types are derived there, next to each field's doc comment.
export type {
  LocalEnvironment,
  HostTarget,
  HostsEnvironment,
  TraceBackends,
  KubernetesTarget,
  KubernetesEnvironment,
  EnvironmentConfig,
  DrillbookConfig,
} from './config.ts';

// ─── faults ──────────────────────────────────────────────────────────────────
// Hand-written: the fault schemas reshape their input (`fault` → `kind`, mode/value → `selection`).

/** Which of the matched targets a fault hits, as in Chaos Mesh's `mode`. */
export type FaultMode = { mode: 'one' } | { mode: 'all' } | { mode: 'fixed'; value: number } | { mode: 'fixed-percent'; value: number };

interface FaultBase {
  /** A target name from the environment (`api`, `db`, …). */
  target: string;
  selection: FaultMode;
}

export interface PodKillFault extends FaultBase {
  kind: 'pod-kill';
}

export interface PodFailureFault extends FaultBase {
  kind: 'pod-failure';
  duration: Millis;
}

export interface NetworkFault extends FaultBase {
  kind: 'network';
  duration: Millis;
  delay?: Millis;
  jitter?: Millis;
  /** Fraction of packets/chunks dropped, 0..1. */
  loss?: number;
  /** Reset connections (TCP RST) instead of carrying them. */
  reset?: boolean;
  /** Partition: accept, carry nothing. */
  blackhole?: boolean;
  /** Bandwidth limit in bytes per second. */
  bandwidth?: number;
  direction: 'to' | 'from' | 'both';
  /** The dependency whose traffic is affected (e.g. `db`); defaults to the target's inbound traffic. */
  dependency?: string;
}

export interface DependencyOutageFault extends FaultBase {
  kind: 'dependency-outage';
  duration: Millis;
}

export interface StressFault extends FaultBase {
  kind: 'stress';
  duration: Millis;
  cpu: { workers: number; load: number };
}

/** A schema change applied to a database and rolled back (seed game-day 2). */
export interface MigrationFault extends FaultBase {
  kind: 'migration';
  /** SQL that goes in. */
  apply: string;
  /** SQL that takes it out again; journaled before `apply` runs. */
  rollback: string;
  duration?: Millis;
}

/**
 * The primary database's data is lost (server killed, data directory destroyed); the
 * revert is the restore: base backup plus archived WAL replayed to the latest point.
 * `duration` is how long the outage lasts before the restore starts (detection and decision).
 */
export interface DataLossFault extends FaultBase {
  kind: 'data-loss';
  duration: Millis;
}

/** A team's own action: a zx script (journaled by path, so it survives a crash) or a function. */
export interface CustomFault {
  kind: 'custom';
  name: string;
  target?: string;
  selection?: FaultMode;
  inject: string | ((ctx: CustomActionContext) => Promise<void>);
  revert?: string | ((ctx: CustomActionContext) => Promise<void>);
  duration?: Millis;
}

export interface CustomActionContext {
  environment: string;
  signal: AbortSignal;
  log: (message: string) => void;
}

export type FaultSpec = PodKillFault | PodFailureFault | NetworkFault | DependencyOutageFault | StressFault | MigrationFault | DataLossFault | CustomFault;

export type FaultKind = FaultSpec['kind'];

// ─── probes ──────────────────────────────────────────────────────────────────
// Hand-written: the probe schemas fill in defaults (every, timeout, method, status) and rename `probe` to `kind`.

export type Comparator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** The tolerance a numeric probe must meet: a comparison or an inclusive range. */
export type Tolerance = { op: Comparator; value: number } | { range: [number, number] };

interface ProbeBase {
  name: string;
  every: Millis;
  timeout: Millis;
}

export interface HttpProbe extends ProbeBase {
  kind: 'http';
  target: string;
  path: string;
  method: string;
  expect: { status: number[]; maxMs?: Millis; bodyMatches?: string };
}

export interface PromqlProbe extends ProbeBase {
  kind: 'promql';
  query: string;
  tolerance: Tolerance;
}

export interface SqlProbe extends ProbeBase {
  kind: 'sql';
  target: string;
  query: string;
  tolerance: Tolerance;
}

export interface JourneyProbe extends ProbeBase {
  kind: 'journey';
  /** The journey's name; the plan of the journey itself is resolved at run time. */
  journey: string;
}

export interface K8sProbe extends ProbeBase {
  kind: 'k8s';
  /** The workload target whose ready replicas are counted. */
  target: string;
  tolerance: Tolerance;
}

export type ProbeSpec = HttpProbe | PromqlProbe | SqlProbe | JourneyProbe | K8sProbe;

// ─── stop conditions ─────────────────────────────────────────────────────────
// Hand-written: the stop schemas rename `stop` to `kind` and keep only an SLO's id.

export type StopCondition =
  | { kind: 'budget-consumed'; slo: string; above: number }
  | { kind: 'error-ratio'; above: number; for: number }
  | { kind: 'alert-firing'; alert: string; longerThan: Millis }
  | { kind: 'probe-failing'; probe: string; for: number };

// ─── drills ──────────────────────────────────────────────────────────────────
// Hand-written: defineDrill/defineGameDay assemble these (phases from fault + observe, defaults, names for references).

export interface EpisodeExpectation {
  /** Alerts that must fire during this episode (TTD is taken from the first). */
  alerts: string[];
  /** TTR must be at most this. */
  recoverWithin: Millis;
}

/** The team's own automation that takes a fault out when an alert reaches it through Alertmanager. */
export interface RemediationPlan {
  /** The alert (alertname) whose firing notification starts the script. */
  onAlert: string;
  /** The script, relative to the project root (a zx script under scripts/). */
  run: string;
  /** The environment target whose URL the script gets as DRILLBOOK_TARGET_URL (the fault's target unless named). */
  target?: string;
  /** The script is killed after this long. */
  timeout: Millis;
}

export interface PhasePlan {
  name: string;
  /** How long the phase lasts. A fault phase without one lasts until recovery (bounded by recoverWithin). */
  duration?: Millis;
  fault?: FaultSpec;
  expect?: EpisodeExpectation;
  /** The fault stays in until the team mitigates it (a remediation, or `drill mitigate`), not for a duration. */
  until?: 'mitigated';
  /** With `until: 'mitigated'`: after this long from t_inject the harness takes the fault out itself and the episode fails. */
  deadline?: Millis;
  remediate?: RemediationPlan;
}

export interface RestorePlan {
  kind: 'postgres-pitr';
  database: string;
  heartbeat: { every: Millis };
}

export interface DrillPlan {
  name: string;
  title: string;
  /** Environment names this drill may run in (deny by default). */
  environments: string[];
  /** Consecutive passing steady-state probes that count as recovered (DESIGN: N = 3). */
  recoveryPasses: number;
  steadyState: ProbeSpec[];
  stopWhen: StopCondition[];
  phases: PhasePlan[];
  /** A load profile's name, resolved at run time. */
  load?: string;
  restore?: RestorePlan;
  targets?: { rpo?: Millis; rto?: Millis };
  checks?: { traceCoverage?: { min: number }; slo?: string[] };
  /** The file the definition came from, for error messages and the evidence pack. */
  source?: string;
}

// ─── cross-references ────────────────────────────────────────────────────────

/**
 * What every defineX() returns carries its kind and name, so definitions reference
 * each other by import (a drill imports a load profile, a journey, an SLO) and the
 * plan keeps only the name. The full objects travel beside the plan in `DrillUses`.
 */
export interface Defined<K extends DefinedKind> {
  readonly kind: K;
  readonly name: string;
}
export type DefinedKind = 'drill' | 'game-day' | 'bake' | 'load-profile' | 'journey' | 'slo' | 'dashboard' | 'config';

/** An SLO is referenced by `id` = `<service>:<name>`. */
export interface SloRef extends Defined<'slo'> {
  readonly id: string;
}

/** The definitions a drill imported, by name, for the engine to resolve at run time. */
export interface DrillUses {
  load?: Defined<'load-profile'>;
  journeys: Record<string, Defined<'journey'>>;
  slos: Record<string, SloRef>;
}

/** What defineDrill / defineGameDay return: the validated plan plus what it uses. */
export interface DefinedDrill extends Defined<'drill'> {
  readonly plan: DrillPlan;
  readonly uses: DrillUses;
}
