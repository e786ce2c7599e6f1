// A measured figure with its derivation: which formula, from which inputs, so the
// evidence pack can show it and `drill verify` can derive it again from the raw log.
export interface Measure {
  value: number | null;
  unit: 'ms' | 'ratio' | 'x' | 'count';
  /** A stable formula id (`ttr.v1`); changing a formula means a new id. */
  formula: string;
  /** Indices into the run's events and the parameters the formula used. */
  inputs: Record<string, unknown>;
  note?: string;
}
