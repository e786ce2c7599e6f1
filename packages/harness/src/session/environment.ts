// Opening an environment for a drill: what its targets mean, where its Prometheus is,
// where alerts and traces arrive. `local` starts the embedded stage with the generated
// alert rules; `hosts` points at a team's running service; `kubernetes` at a cluster.
import type { DrillPlan, EnvironmentConfig } from '../define/types.ts';
import type { Clock } from '../engine/types.ts';
import { EnvironmentError } from '../errors.ts';
import type { AlertWatcher } from '../observe/alert-watcher.ts';
import type { RumStore } from '../observe/faro-receiver.ts';
import type { FaultMetrics } from '../observe/fault-metrics.ts';
import type { PrometheusClient } from '../observe/prometheus.ts';
import type { TraceSource } from '../observe/trace-backends.ts';
import type { TraceStore } from '../observe/trace-store.ts';
import { openContainers } from './environments/containers.ts';
import { openHosts } from './environments/hosts.ts';
import { openKubernetes } from './environments/kubernetes.ts';
import { openLocal } from './environments/local.ts';
import type { HistoryChoice } from './run/history.ts';

export { EnvironmentError };

export interface OpenEnvironment {
  name: string;
  config: EnvironmentConfig;
  prometheus: PrometheusClient | undefined;
  alerts: AlertWatcher;
  traces: TraceStore;
  /** Where the service's traces are read back: the harness's own store, or the stage's Tempo/Jaeger. */
  traceSource: TraceSource;
  rum: RumStore;
  /** Base URLs for HTTP targets, connection strings for databases. */
  targetUrl(target: string): string;
  databaseUrl(target: string): string;
  /** What fault providers see for a target name. */
  resolveTarget(target: string): unknown;
  /** URLs of the running pieces, for the summary and the evidence pack. */
  urls: Record<string, string>;
  /** Extra facts for the run record (stage start time, versions). */
  facts: Record<string, unknown>;
  /** `drillbook_fault_active` on the harness's /metrics (scraped by the local stage's Prometheus). */
  faultMetrics: FaultMetrics;
  /** The Alertmanager that delivers this environment's alerts, with what it takes to ask it (health). */
  alertmanager?: { url: string; headers: Record<string, string> };
  /** Headers the harness's own exports send to its OTLP receiver (the per-run token). */
  telemetryHeaders: Record<string, string>;
  /** Checks of this environment's own for a plan (Kubernetes: every target the drill uses has ready pods). */
  preflight?: (plan: DrillPlan) => Promise<{ checked: string[]; problems: string[] }>;
  /** Ready and total replicas of a workload target, for `probe.k8s` (Kubernetes: its pods; local: the stage's replicas). */
  readyReplicas?: (target: string, signal: AbortSignal) => Promise<{ ready: number; total: number }>;
  /** Deletes what the run left in the environment by its labels (the journal's fallback); names what it deleted. */
  sweepRun?: (runId: string) => Promise<string[]>;
  /** What the receivers refused or dropped during the run, for the record. */
  receiverFacts(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface OpenOptions {
  projectRoot: string;
  clock: Clock;
  log: (line: string) => void;
  /** Directory of generated alert rules for the local stage's Prometheus. */
  rulesDir?: string;
  /** Synthetic history for the local stage's Prometheus, and why (for the record). */
  history?: HistoryChoice;
}

export { LOCAL_STAGE_TARGET_KINDS, localStageTargets } from './environments/local.ts';

export async function openEnvironment(name: string, config: EnvironmentConfig, opts: OpenOptions): Promise<OpenEnvironment> {
  switch (config.kind) {
    case 'local':
      return openLocal(name, config, opts);
    case 'hosts':
      return openHosts(name, config, opts);
    case 'kubernetes':
      return openKubernetes(name, config, opts);
    case 'containers':
      return openContainers(name, config, opts);
  }
}
