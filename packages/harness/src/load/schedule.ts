// When iterations start (arrival-rate executors) and how many VUs run (ramping-vus):
// pure functions of the scenario, as k6 defines them (rates ramp linearly per stage).
import type { ScenarioPlan, Stage } from '../define/load.ts';

/** Offsets (ms from the scenario's start) at which arrival-rate iterations begin. */
export function arrivalOffsets(s: ScenarioPlan): number[] {
  const unit = s.timeUnit ?? 1_000;
  if (s.executor === 'constant-arrival-rate') {
    const perMs = s.rate! / unit;
    const n = Math.floor(s.duration! * perMs + 1e-9);
    return Array.from({ length: n }, (_, i) => i / perMs);
  }
  if (s.executor === 'ramping-arrival-rate') {
    const out: number[] = [];
    let t0 = 0;
    let r0 = (s.startRate ?? 0) / unit; // iterations per ms
    let done = 0; // iterations scheduled so far (whole)
    let acc = 0; // cumulative expected iterations at t0
    for (const st of s.stages!) {
      const r1 = st.target / unit;
      const D = st.duration;
      // N(t) = acc + r0·t + (r1 − r0)·t² / (2D) over 0 ≤ t ≤ D: start the k-th iteration where N = k.
      const total = acc + ((r0 + r1) * D) / 2;
      while (done + 1 <= total + 1e-9) {
        const need = done - acc; // iterations to reach within this stage, from its start
        let t: number;
        const a = D > 0 ? (r1 - r0) / (2 * D) : 0;
        if (Math.abs(a) < 1e-15) t = r0 > 0 ? need / r0 : 0;
        else t = (-r0 + Math.sqrt(Math.max(0, r0 * r0 + 4 * a * need))) / (2 * a);
        out.push(t0 + Math.min(Math.max(t, 0), D));
        done++;
      }
      acc = total;
      t0 += D;
      r0 = r1;
    }
    return out;
  }
  throw new Error(`${s.executor} is not an arrival-rate executor`);
}

/** VUs a ramping-vus scenario runs at offset t (linear between stages, as k6). */
export function vusAt(startVUs: number, stages: Stage[], t: number): number {
  let from = startVUs;
  let at = 0;
  for (const st of stages) {
    if (t < at + st.duration) return Math.round(from + ((st.target - from) * (t - at)) / Math.max(1, st.duration));
    at += st.duration;
    from = st.target;
  }
  return from;
}

/** How long a scenario runs before its graceful stop. */
export function scenarioDuration(s: ScenarioPlan): number {
  if (s.duration !== undefined) return s.duration;
  if (s.stages) return s.stages.reduce((a, st) => a + st.duration, 0);
  return s.maxDuration ?? 600_000;
}
