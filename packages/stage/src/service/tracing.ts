// OpenTelemetry for the service: HTTP server/client spans, pg spans, and manual business
// spans, exported over OTLP/HTTP. Started before the app loads http and pg, so the
// instrumentations' require hooks can patch them.
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { ServiceConfig } from './config.ts';
import { matchRoute, routeName } from './routes.ts';

export { SERVICE_NAME } from './name.ts';
import { SERVICE_NAME } from './name.ts';

/** Starts tracing when an endpoint is configured; returns a shutdown that flushes spans. */
export function startTracing(config: ServiceConfig): () => Promise<void> {
  if (!config.otlpTracesUrl) return async () => {};
  const disabled = new Set(config.tracingDisabledRoutes);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: SERVICE_NAME, 'service.instance.id': config.replica }),
    // Short delay: drills and tests look for spans seconds after a request.
    spanProcessors: [
      new tracing.BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpTracesUrl, headers: config.otlpHeaders }), { scheduledDelayMillis: 200 }),
    ],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => {
          const m = matchRoute(req.method ?? '', req.url ?? '');
          // Health checks and scrapes every 250 ms–1 s would drown the traces that matter.
          if (!m || ['/healthz', '/readyz', '/metrics', '/faro.js'].includes(m.route.template)) return true;
          return disabled.has(routeName(m.route));
        },
        // The exporter's own posts are not part of the service's story.
        ignoreOutgoingRequestHook: () => true,
      }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  sdk.start();
  return () => sdk.shutdown();
}
