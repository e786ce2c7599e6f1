// RPO and RTO of a timed restore, from what the heartbeat writer acknowledged and what
// survived the restore (DESIGN.md):
//   RPO = t_failure − commit time of the newest acknowledged write that survived
//   RTO = t_healthy − t_failure, broken into detect, restore, replay and warm-up.
import type { RunEvent } from '../engine/types.ts';
import type { Episode } from './episodes.ts';
import type { Measure } from './types.ts';

export interface HeartbeatAck {
  seq: number;
  /** When the writer saw the commit acknowledged (ms). */
  ackedAt: number;
}

export interface RestoreTimes {
  tFailure: number;
  /** The failure was noticed (first failed probe or alert). */
  tDetected: number;
  tRestoreStarted: number;
  /** Base backup in place; WAL replay begins. */
  tRestoreEnded: number;
  /** Replay finished: the database accepts writes again. */
  tReplayEnded: number;
  /** Steady state holds again (N consecutive passing probes). */
  tHealthy: number;
}

export interface RestoreReport {
  rpo: Measure;
  rto: Measure;
  lostRows: Measure;
  breakdown: { detect: number; restore: number; replay: number; warmUp: number };
  newestSurvivor: HeartbeatAck | undefined;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

/**
 * `surviving` is the set of heartbeat sequence numbers present after the restore.
 * Acknowledged rows missing from it are lost (the writer was told they committed).
 */
export function measureRestore(
  acks: readonly HeartbeatAck[],
  surviving: ReadonlySet<number>,
  times: RestoreTimes,
  targets: { rpo?: number; rto?: number } = {},
): RestoreReport {
  const before = acks.filter((a) => a.ackedAt <= times.tFailure);
  const survivors = before.filter((a) => surviving.has(a.seq));
  const newest = survivors.reduce<HeartbeatAck | undefined>((m, a) => (!m || a.ackedAt > m.ackedAt ? a : m), undefined);
  const lost = before.filter((a) => !surviving.has(a.seq));
  // Rows lost "in the middle" (older than the newest survivor) would mean a broken restore, not just RPO.
  const holes = newest ? lost.filter((a) => a.seq < newest.seq) : [];
  const rpo = newest ? times.tFailure - newest.ackedAt : null;
  const rto = times.tHealthy - times.tFailure;
  const inputs = { tFailure: times.tFailure, acknowledged: before.length, survived: survivors.length, newestSurvivor: newest ?? null };
  const checks: RestoreReport['checks'] = [
    {
      name: 'every acknowledged row before the newest survivor is present',
      ok: holes.length === 0,
      detail: holes.length ? `${holes.length} rows missing below seq ${newest!.seq}` : 'no holes',
    },
  ];
  if (targets.rpo !== undefined)
    checks.push({
      name: `RPO ≤ ${targets.rpo} ms`,
      ok: rpo !== null && rpo <= targets.rpo,
      detail: rpo === null ? 'no acknowledged row survived' : `${rpo} ms`,
    });
  if (targets.rto !== undefined) checks.push({ name: `RTO ≤ ${targets.rto} ms`, ok: rto <= targets.rto, detail: `${rto} ms` });
  return {
    rpo: { value: rpo, unit: 'ms', formula: 'rpo.v1', inputs },
    rto: { value: rto, unit: 'ms', formula: 'rto.v1', inputs: { ...times } },
    lostRows: { value: lost.length, unit: 'count', formula: 'rows-lost.v1', inputs },
    // The parts add up to RTO: "detect" runs from the failure until the restore begins
    // (noticing and deciding); when the first probe failed is kept in rto.inputs.tDetected.
    breakdown: {
      detect: times.tRestoreStarted - times.tFailure,
      restore: times.tRestoreEnded - times.tRestoreStarted,
      replay: times.tReplayEnded - times.tRestoreEnded,
      warmUp: times.tHealthy - times.tReplayEnded,
    },
    newestSurvivor: newest,
    checks,
  };
}

/**
 * The restore's times from a run log: failure = the data-loss fault in; detected = first
 * failed probe after it; restore and replay = the provider's steps; healthy = the episode's
 * recovery (N consecutive passing probes).
 */
export function restoreFromRun(
  events: readonly RunEvent[],
  episodes: readonly Episode[],
  heartbeat: { acks: readonly HeartbeatAck[]; surviving: readonly number[] },
  targets: { rpo?: number; rto?: number },
): RestoreReport | undefined {
  const ep = episodes.find((e) => e.faultKind === 'data-loss');
  if (!ep || ep.tRecover === undefined) return undefined;
  const step = (name: string) => events.find((e) => e.kind === 'step' && e.name === name && e.t >= ep.tInject)?.t;
  const tRestoreStarted = step('restore.started') ?? ep.tInject;
  const tRestoreEnded = step('restore.ended') ?? tRestoreStarted;
  // The provider polls for the end of replay; a probe may see the database writable a few ms
  // before that poll does. Replay cannot end after the service is healthy again.
  const tReplayEnded = Math.min(step('replay.ended') ?? tRestoreEnded, ep.tRecover);
  return measureRestore(
    heartbeat.acks,
    new Set(heartbeat.surviving),
    {
      tFailure: ep.tInject,
      tDetected: ep.tImpact ?? ep.tInject,
      tRestoreStarted,
      tRestoreEnded,
      tReplayEnded,
      tHealthy: ep.tRecover,
    },
    targets,
  );
}
