// What users write in drills/, load/, synthetics/, alerts/ and drillbook.config.ts.
export { defineConfig, resolveEnvironment, DEFAULT_CONFIG, type ConfigInput } from './config.ts';
export { defineDrill, defineGameDay, isDefinedDrill, DEFAULT_RECOVER_WITHIN, type DrillInput, type GameDayInput, type PhaseInput } from './drill.ts';
export { fault, type FaultInput } from './faults.ts';
export { fromSlo, probe, stop, type ProbeInput, type StopInput, type ToleranceInput } from './probes.ts';
export { defineSlo, defineAlert, loadOpenSlo, type SloDefinition, type AlertDefinition, type SloInput, type AlertInput } from './slo.ts';
export { DefinitionError, type DefinitionIssue } from './errors.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { defineLoadProfile, isLoadProfile, type LoadProfile, type LoadProfileInput, type ScenarioPlan, type Executor } from './load.ts';
export { defineJourney, isJourney, type Journey, type JourneyInput, type JourneyStep } from './journey.ts';
export { defineBrowserJourney, isBrowserJourney, type BrowserJourney, type BrowserJourneyInput, type BrowserStep } from './browser-journey.ts';
export { defineBake, isBakePlan, type BakePlan, type BakeInput } from './bake.ts';
