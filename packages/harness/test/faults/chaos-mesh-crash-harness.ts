// A real harness process for the Kubernetes crash test: runs a drill whose phase injects a
// NetworkChaos through the Chaos Mesh provider (journaled first), prints INJECTED, and waits.
import { RealClock } from '../../src/engine/clock.ts';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { MemoryRunLog } from '../../src/engine/run-log.ts';
import { runTimeline } from '../../src/engine/timeline.ts';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import { chaosMeshProvider } from '../../src/faults/chaos-mesh/provider.ts';
import type { KubernetesEnvironment } from '../../src/define/types.ts';
import { findRecovery } from '../../src/measure/episodes.ts';

const [journalPath, kubeconfig] = process.argv.slice(2);
const clock = new RealClock();
const log = new MemoryRunLog();
log.onAppend((e) => {
  if (e.kind === 'fault.injected') process.stdout.write(`INJECTED ${e.targets[0]}\n`);
});
const env: KubernetesEnvironment = {
  kind: 'kubernetes',
  context: 'stage-sim',
  namespaces: ['intelgraph'],
  targets: { api: { selector: { app: 'graph-api' }, namespace: 'intelgraph' } },
};
const drill = defineGameDay({
  name: 'k8s-crash',
  environments: ['stage'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '100ms' })],
  phases: [{ name: 'slow', fault: fault.network({ target: 'api', delay: '100ms', duration: '10m' }) }],
});
const provider = chaosMeshProvider({ kubeconfig: kubeconfig! });
await runTimeline(drill.plan, {
  findRecovery,
  runId: 'run-20261122-220501-cafe',
  environmentName: 'stage',
  environment: env,
  clock,
  sink: log,
  journal: new RollbackJournal(journalPath!),
  chooseProvider: () => provider,
  resolveTarget: (n) => env.targets[n],
  runProbe: async () => ({ ok: true, started: clock.now() }),
});
