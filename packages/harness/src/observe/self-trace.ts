// The harness traces itself: each run becomes an OpenTelemetry trace (a span for the run,
// each phase, each fault from injection to revert, each episode from injection to
// recovery) exported over OTLP/HTTP to the environment's endpoint, so drill events sit
// beside the service's own traces. The same events become Grafana annotations.
// Spans are built from the run log after the fact, with the log's own timestamps.
import { context, trace, SpanStatusCode, type Span } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { RunEvent } from '../engine/types.ts';
import type { Episode } from '../measure/episodes.ts';

/** A Grafana annotation (the body of POST /api/annotations). */
export interface GrafanaAnnotation {
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
}

/** Pure: the drill's events as Grafana annotations (faults as regions, alerts and stops as points). */
export function annotationsOf(events: readonly RunEvent[], drill: string, runId: string): GrafanaAnnotation[] {
  const out: GrafanaAnnotation[] = [];
  const tags = ['drillbook', `drill:${drill}`, `run:${runId}`];
  for (const e of events) {
    if (e.kind === 'fault.injected') {
      const injecting = events.find((x) => x.kind === 'fault.injecting' && x.faultId === e.faultId) as
        Extract<RunEvent, { kind: 'fault.injecting' }> | undefined;
      const end = events.find((x) => (x.kind === 'fault.reverted' || x.kind === 'fault.revert-failed') && x.faultId === e.faultId);
      out.push({
        time: e.t,
        ...(end ? { timeEnd: end.t } : {}),
        tags: [...tags, 'fault', `phase:${injecting?.phase ?? '?'}`],
        text: `fault ${String(injecting?.fault.kind)} in: ${e.targets.join(', ')}`,
      });
    } else if (e.kind === 'alert' && e.source === 'prometheus' && e.state !== 'pending')
      out.push({ time: e.t, tags: [...tags, 'alert'], text: `${e.alert} ${e.state}` });
    else if (e.kind === 'stop.breached') out.push({ time: e.t, tags: [...tags, 'stop'], text: `stop condition: ${e.condition}` });
  }
  return out;
}

/** Exports the run as one trace; returns its trace id. */
export async function exportRunTrace(
  endpoint: string,
  events: readonly RunEvent[],
  episodes: readonly Episode[],
  meta: { runId: string; drill: string; environment: string },
  /** e.g. the harness receiver's `Authorization: Bearer <otlpToken>`. */
  headers: Record<string, string> = {},
): Promise<string> {
  const exporter = new OTLPTraceExporter({ url: endpoint, headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'drillbook', 'drillbook.run_id': meta.runId }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('drillbook');
  const start = events.find((e) => e.kind === 'run.started')?.t ?? events[0]?.t ?? Date.now();
  // A loop, not a spread into Math.max: spreading a long run's events overflows the call stack.
  let end = -Infinity;
  for (const e of events) if (e.t > end) end = e.t;
  const attrs = { 'drillbook.run_id': meta.runId, 'drillbook.drill': meta.drill, 'drillbook.environment': meta.environment };
  const root = tracer.startSpan(`drill ${meta.drill}`, { startTime: start, attributes: attrs });
  const inRoot = trace.setSpan(context.active(), root);
  const child = (name: string, from: number, to: number, extra: Record<string, string | number | boolean> = {}): Span => {
    const s = tracer.startSpan(name, { startTime: from, attributes: { ...attrs, ...extra } }, inRoot);
    s.end(to);
    return s;
  };
  for (const e of events) {
    if (e.kind === 'phase.started') {
      const ended = events.find((x) => x.kind === 'phase.ended' && x.phase === e.phase && x.t >= e.t);
      const s = child(`phase ${e.phase}`, e.t, ended?.t ?? end, { 'drillbook.phase': e.phase });
      if (ended?.kind === 'phase.ended' && ended.outcome === 'aborted') s.setStatus({ code: SpanStatusCode.ERROR, message: 'aborted' });
    } else if (e.kind === 'fault.injecting') {
      const out = events.find((x) => (x.kind === 'fault.reverted' || x.kind === 'fault.revert-failed') && x.faultId === e.faultId);
      child(`fault ${String(e.fault.kind)}`, e.t, out?.t ?? end, {
        'drillbook.fault_id': e.faultId,
        'drillbook.provider': e.provider,
        'drillbook.phase': e.phase,
      });
    }
  }
  for (const ep of episodes) {
    child(`episode ${ep.phase}`, ep.tInject, ep.tRecover ?? end, {
      'drillbook.fault_id': ep.faultId,
      ...(ep.ttr.value !== null ? { 'drillbook.ttr_ms': ep.ttr.value } : {}),
      ...(ep.ttd.value !== null ? { 'drillbook.ttd_ms': ep.ttd.value } : {}),
    });
  }
  root.end(end);
  const traceId = root.spanContext().traceId;
  await provider.forceFlush();
  await provider.shutdown();
  return traceId;
}
