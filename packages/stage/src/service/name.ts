// The stage service's name in its traces, Faro sessions and metrics: one place, so the harness
// knows which spans are the run's own (they are never pushed out of its trace store by others).
export const SERVICE_NAME = 'graph-api';
