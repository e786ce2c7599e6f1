// The harness's own receivers for one run, whatever the environment: OTLP traces, Faro RUM,
// the alert webhook and the fault gauges on /metrics, each behind a per-run token.
import type { Clock } from '../../engine/types.ts';
import { AlertWatcher } from '../../observe/alert-watcher.ts';
import { faroHandler, RumStore } from '../../observe/faro-receiver.ts';
import { FaultMetrics } from '../../observe/fault-metrics.ts';
import { otlpTraceHandler } from '../../observe/otlp-receiver.ts';
import type { PrometheusClient } from '../../observe/prometheus.ts';
import { TelemetryServer } from '../../observe/telemetry-server.ts';
import { TraceStore } from '../../observe/trace-store.ts';

/**
 * The harness's receivers for one run. `protectedServices` names the run's own services: their
 * spans are never pushed out of the bounded trace store by a flood from anyone else.
 */
export async function openTelemetry(clock: Clock, prometheus: PrometheusClient | undefined, protectedServices: readonly string[] = []) {
  const traces = new TraceStore({ protectedServices });
  const rum = new RumStore();
  const faultMetrics = new FaultMetrics();
  const telemetry = new TelemetryServer()
    .route('/v1/traces', otlpTraceHandler(traces))
    .route('/collect', faroHandler(rum, traces))
    .get('/metrics', async () => ({ status: 200, contentType: faultMetrics.registry.contentType, body: await faultMetrics.text() }));
  const telemetryUrl = await telemetry.listen();
  const alerts = new AlertWatcher({ now: () => clock.now(), prometheus, sleep: (ms, s) => clock.sleep(ms, s) });
  const webhookUrl = await alerts.listen();
  const telemetryHeaders = { authorization: `Bearer ${telemetry.otlpToken}` };
  const receiverFacts = () => ({ alertsRejected: alerts.rejections(), traceStore: traces.stats(), rumDropped: { ...rum.dropped } });
  /** The fields every environment hands the run from its receivers (spread into an OpenEnvironment). */
  const receivers = { alerts, faultMetrics, telemetryHeaders, receiverFacts, traces, rum };
  const close = async () => {
    await alerts.close();
    await telemetry.close();
  };
  return { traces, rum, telemetry, telemetryUrl, alerts, webhookUrl, faultMetrics, telemetryHeaders, receiverFacts, receivers, close };
}
