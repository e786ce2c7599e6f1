// TTD reads Prometheus' own alert state when the run has it: an Alertmanager notification
// (which a webhook delivers, and which is what an outsider would forge) decides only for
// an alert Prometheus never showed firing. Both times stay in the episode.
import { describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { measureEpisodes } from '../../src/measure/episodes.ts';

const T0 = 1_700_000_000_000;
const tInject = T0 + 10_000;
const plan = defineGameDay({
  name: 'ttd-source',
  environments: ['local'],
  steadyState: [probe.http({ name: 'p0', target: 'api', path: '/readyz', every: '1s' })],
  phases: [{ name: 'kill', fault: fault.podKill({ target: 'api' }), expect: { alerts: ['ReplicaDown', 'Availability'], recoverWithin: '60s' } }],
}).plan;

const injection: RunEvent[] = [
  { t: tInject - 5, kind: 'fault.injecting', faultId: 'f-kill', phase: 'kill', provider: 'test', fault: { kind: 'pod-kill', target: 'api' } },
  { t: tInject, kind: 'fault.injected', faultId: 'f-kill', targets: ['replica-1'] },
];
const alert = (t: number, name: string, source: 'prometheus' | 'alertmanager'): RunEvent => ({
  t,
  kind: 'alert',
  alert: name,
  state: 'firing',
  source,
  labels: {},
});

describe('TTD source', () => {
  it("prefers Prometheus' firing time over an earlier Alertmanager notification, and keeps both", () => {
    const events = [...injection, alert(tInject + 1_000, 'ReplicaDown', 'alertmanager'), alert(tInject + 5_000, 'ReplicaDown', 'prometheus')];
    const [ep] = measureEpisodes(events, plan);
    expect(ep!.ttd.value).toBe(5_000);
    expect(ep!.ttd.formula).toBe('ttd.v2');
    expect(ep!.alertsFired.ReplicaDown).toBe(tInject + 5_000);
    expect(ep!.alertsFiredBySource).toEqual({ ReplicaDown: { prometheus: tInject + 5_000, alertmanager: tInject + 1_000 }, Availability: {} });
    expect(ep!.ttd.inputs.alertEvents).toEqual([3]);
  });

  it('falls back to Alertmanager for an alert Prometheus never showed firing (a run without a Prometheus to poll)', () => {
    const events = [...injection, alert(tInject + 2_000, 'Availability', 'alertmanager')];
    const [ep] = measureEpisodes(events, plan);
    expect(ep!.ttd.value).toBe(2_000);
    expect(ep!.alertsFiredBySource.Availability).toEqual({ alertmanager: tInject + 2_000 });
  });

  it('takes the earliest detecting alert across expected alerts, each by its preferred source', () => {
    const events = [
      ...injection,
      alert(tInject + 500, 'ReplicaDown', 'alertmanager'),
      alert(tInject + 3_000, 'Availability', 'prometheus'),
      alert(tInject + 4_000, 'ReplicaDown', 'prometheus'),
    ];
    const [ep] = measureEpisodes(events, plan);
    expect(ep!.ttd.value).toBe(3_000);
  });
});
