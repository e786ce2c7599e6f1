// The public API of @drillbook/harness: what drills, journeys, load profiles and SLOs import.
export * from './define/index.ts';
export type * from './define/types.ts';
export type * from './engine/types.ts';
