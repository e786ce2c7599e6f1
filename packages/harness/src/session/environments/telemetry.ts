// The harness's own receivers for one run, whatever the environment: OTLP traces, Faro RUM,
// the alert webhook and the fault gauges on /metrics, each behind a per-run token.
import { readFileSync, statSync } from 'node:fs';
import type { Clock } from '../../engine/types.ts';
import { EnvironmentError } from '../../errors.ts';
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
export async function openTelemetry(
  clock: Clock,
  prometheus: PrometheusClient | undefined,
  protectedServices: readonly string[] = [],
  webhook?: { port: number; token: string },
) {
  const traces = new TraceStore({ protectedServices });
  const rum = new RumStore();
  const faultMetrics = new FaultMetrics();
  const telemetry = new TelemetryServer()
    .route('/v1/traces', otlpTraceHandler(traces))
    .route('/collect', faroHandler(rum, traces))
    .get('/metrics', async () => ({ status: 200, contentType: faultMetrics.registry.contentType, body: await faultMetrics.text() }));
  const telemetryUrl = await telemetry.listen();
  const alerts = new AlertWatcher({ now: () => clock.now(), prometheus, sleep: (ms, s) => clock.sleep(ms, s), ...(webhook ? { webhook } : {}) });
  let webhookUrl: string;
  try {
    webhookUrl = await alerts.listen();
  } catch (err) {
    await telemetry.close();
    throw err;
  }
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

/**
 * The fixed alert webhook of an environment's config (`alertWebhook: { port, tokenFile }`): the
 * token read from its file, which must be private to its owner and long enough to be a secret.
 */
export function fixedWebhook(config: { alertWebhook?: { port: number; tokenFile: string } | undefined }): { port: number; token: string } | undefined {
  const w = config.alertWebhook;
  if (!w) return undefined;
  let token: string;
  try {
    if ((statSync(w.tokenFile).mode & 0o077) !== 0)
      throw new EnvironmentError(`alertWebhook.tokenFile ${w.tokenFile} is readable by others: chmod 600 it (it is the secret Alertmanager sends)`);
    token = readFileSync(w.tokenFile, 'utf8').trim();
  } catch (err) {
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(
      `alertWebhook.tokenFile ${w.tokenFile} could not be read: ${(err as Error).message} (write the bearer token your Alertmanager sends into it, mode 600)`,
    );
  }
  if (token.length < 16) throw new EnvironmentError(`alertWebhook.tokenFile ${w.tokenFile} holds ${token.length} characters: a bearer token needs at least 16`);
  return { port: w.port, token };
}
