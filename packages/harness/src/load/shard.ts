// How one scenario is spread over worker threads: pure. Arrival-rate executors deal the
// one schedule's starts round-robin (start i to worker i mod spread), so the workers
// together start exactly the iterations one thread would, each at its own offset from a
// common start; closed-model executors deal VUs the same way (VU i to worker i mod spread,
// so a ramping-vus ramp keeps its global VU numbers). VU, iteration and connection budgets
// are split so that the totals stay the profile's. One worker is the whole scenario.
import type { ScenarioPlan } from '../define/load.ts';
import { maxOf } from '../util/arrays.ts';

/** This thread's place among the load's worker threads: `{ index: 0, count: 1 }` runs everything. */
export interface Shard {
  index: number;
  count: number;
}

export interface ScenarioShard {
  /** Workers the scenario is spread over: no more than it has VUs. */
  spread: number;
  /** Whether this worker runs any of it. */
  active: boolean;
  /** Arrival-rate executors: this worker's VUs at the start and at most. */
  preAllocatedVUs: number;
  maxVUs: number;
  /** Closed-model executors: the global numbers of this worker's VUs (VU i belongs to worker i mod spread). */
  vus: number[];
  /** shared-iterations: this worker's part of the iterations. */
  iterations: number;
  /** Connections this worker opens for the scenario at most. */
  connections: number;
}

export const isArrivalRate = (s: ScenarioPlan) => s.executor === 'constant-arrival-rate' || s.executor === 'ramping-arrival-rate';

/** The scenario's VUs in all: the most an arrival-rate executor may use, or the closed model's VU count. */
export function scenarioVUs(s: ScenarioPlan): number {
  if (isArrivalRate(s)) return s.maxVUs ?? s.preAllocatedVUs ?? 1;
  if (s.executor === 'ramping-vus') return maxOf([s.startVUs ?? 0, ...s.stages!.map((st) => st.target)]);
  return s.vus ?? 1;
}

/** `total` dealt over `parts` as evenly as whole numbers allow: the first `total mod parts` get one more. */
export const partOf = (total: number, parts: number, index: number) => Math.floor(total / parts) + (index < total % parts ? 1 : 0);

/**
 * This worker's part of scenario `s`. `maxConnections` is the scenario's connection budget
 * for all workers together (RunLoadOptions.maxConnections).
 */
export function shardScenario(s: ScenarioPlan, shard: Shard, maxConnections: number): ScenarioShard {
  const total = scenarioVUs(s);
  const spread = Math.max(1, Math.min(shard.count, total));
  const active = shard.index < spread;
  const part = (n: number) => (active ? partOf(n, spread, shard.index) : 0);
  // A connection per VU (as k6), up to the budget.
  const connections = Math.max(1, part(Math.min(maxConnections, Math.max(1, total))));
  if (isArrivalRate(s)) {
    const maxVUs = part(total);
    // Every active worker keeps at least one VU ready: otherwise its first arrival would be dropped.
    const preAllocatedVUs = Math.min(maxVUs, Math.max(1, part(s.preAllocatedVUs ?? 1)));
    return { spread, active, preAllocatedVUs, maxVUs, vus: [], iterations: 0, connections };
  }
  const vus: number[] = [];
  if (active) for (let i = shard.index; i < total; i += spread) vus.push(i);
  return { spread, active, preAllocatedVUs: 0, maxVUs: vus.length, vus, iterations: part(s.iterations ?? 0), connections };
}

/** The arrival offsets (ms from the scenario's start) this worker starts: every spread-th of the schedule. */
export function shardOffsets(offsets: readonly number[], shard: ScenarioShard, index: number): number[] {
  if (!shard.active) return [];
  if (shard.spread === 1) return offsets as number[];
  const out: number[] = [];
  for (let i = index; i < offsets.length; i += shard.spread) out.push(offsets[i]!);
  return out;
}
