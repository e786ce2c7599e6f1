// The public API of @drillbook/harness: what a team's drills/, load/, synthetics/, alerts/,
// dashboards/ and drillbook.config.ts import. Nothing else is exported: the engine, the loader,
// the environments and the evidence are the `drill` command's, not a library contract.
// Input types (what you write) and plan types (what a definition turns into) are types only.
export { defineConfig } from './define/config.ts';
export { defineDrill, defineGameDay, type DrillInput, type GameDayInput, type PhaseInput } from './define/drill.ts';
export { defineBake, type BakeInput } from './define/bake.ts';
export { fault, type FaultInput } from './define/faults.ts';
export { fromSlo, probe, stop, type ProbeInput, type StopInput, type ToleranceInput } from './define/probes.ts';
export { defineSlo, defineAlert, loadOpenSlo, type SloDefinition, type AlertDefinition, type SloInput, type AlertInput } from './define/slo.ts';
export { defineLoadProfile, type LoadProfileInput } from './define/load.ts';
export { defineJourney, type JourneyInput, type JourneyStep } from './define/journey.ts';
export { defineBrowserJourney, type BrowserJourneyInput, type BrowserStep } from './define/browser-journey.ts';
export { defineDashboard, panels, type DashboardInput, type DashboardDefinition } from './define/dashboard.ts';
export { DefinitionError, type DefinitionIssue } from './define/errors.ts';
export { parseDuration, formatDuration } from './define/duration.ts';
export type * from './define/types.ts';
