import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { measureEpisodes } from '../../src/measure/episodes.ts';
import { annotationsOf, exportRunTrace } from '../../src/observe/self-trace.ts';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';
import { otlpTraceHandler } from '../../src/observe/otlp-receiver.ts';
import { TraceStore } from '../../src/observe/trace-store.ts';

const T0 = Date.UTC(2026, 10, 22, 22, 0, 0);
const plan = defineGameDay({
  name: 'nightly',
  environments: ['local'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
  phases: [
    { name: 'warm-up', duration: '5s' },
    { name: 'kill', fault: fault.podKill({ target: 'api' }), expect: { alerts: ['GraphApiReplicaDown'] } },
  ],
}).plan;
const events: RunEvent[] = [
  { t: T0, kind: 'run.started', runId: 'run-x', drill: 'nightly', environment: 'local', clock: 'real' },
  { t: T0, kind: 'phase.started', phase: 'warm-up' },
  { t: T0 + 5_000, kind: 'phase.ended', phase: 'warm-up', outcome: 'completed' },
  { t: T0 + 5_000, kind: 'phase.started', phase: 'kill' },
  { t: T0 + 5_010, kind: 'fault.injecting', faultId: 'f1', phase: 'kill', provider: 'local-process', fault: { kind: 'pod-kill', target: 'api' } },
  { t: T0 + 5_050, kind: 'fault.injected', faultId: 'f1', targets: ['replica-1'] },
  { t: T0 + 11_000, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'firing', source: 'prometheus', labels: {} },
  { t: T0 + 12_000, kind: 'fault.reverted', faultId: 'f1' },
  { t: T0 + 14_000, kind: 'phase.ended', phase: 'kill', outcome: 'completed' },
];
for (let t = T0; t < T0 + 14_000; t += 1_000) events.push({ t: t + 5, kind: 'probe', probe: 'ready', ok: !(t >= T0 + 5_050 && t < T0 + 9_000), started: t });
events.sort((a, b) => a.t - b.t);

describe('the harness traces itself', () => {
  const store = new TraceStore();
  const server = new TelemetryServer().route('/v1/traces', otlpTraceHandler(store));
  let url = '';
  beforeAll(async () => {
    url = `${await server.listen()}/v1/traces`;
  });
  afterAll(() => server.close());

  it('exports the run as one trace: a root, a span per phase, fault and episode, with the log times', async () => {
    const meta = { runId: 'run-x', drill: 'nightly', environment: 'local' };
    const traceId = await exportRunTrace(url, events, measureEpisodes(events, plan), meta, { authorization: `Bearer ${server.otlpToken}` });
    const spans = store.trace(traceId);
    const root = spans.find((s) => !s.parentSpanId)!;
    expect(root).toMatchObject({ name: 'drill nightly', service: 'drillbook', startMs: T0 });
    expect(spans.filter((s) => s !== root).every((s) => s.parentSpanId === root.spanId)).toBe(true);
    expect(spans.map((s) => s.name).sort()).toEqual(['drill nightly', 'episode kill', 'fault pod-kill', 'phase kill', 'phase warm-up']);
    const fault = spans.find((s) => s.name === 'fault pod-kill')!;
    expect([fault.startMs, fault.endMs]).toEqual([T0 + 5_010, T0 + 12_000]);
    expect(spans.find((s) => s.name === 'episode kill')!.attributes['drillbook.ttd_ms']).toBe(5_950);
  });

  it('turns faults into annotated regions and alerts into points for Grafana', () => {
    const a = annotationsOf(events, 'nightly', 'run-x');
    expect(a).toEqual([
      {
        time: T0 + 5_050,
        timeEnd: T0 + 12_000,
        tags: ['drillbook', 'drill:nightly', 'run:run-x', 'fault', 'phase:kill'],
        text: 'fault pod-kill in: replica-1',
      },
      { time: T0 + 11_000, tags: ['drillbook', 'drill:nightly', 'run:run-x', 'alert'], text: 'GraphApiReplicaDown firing' },
    ]);
  });
});
