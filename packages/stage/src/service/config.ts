// The service's configuration, from environment variables (set by the stage's supervisor).
export interface ServiceConfig {
  port: number;
  databaseUrl: string;
  /** OTLP/HTTP traces endpoint (…/v1/traces); tracing is off when unset. */
  otlpTracesUrl?: string;
  /** Routes whose requests are not traced, e.g. "GET /report/:id". */
  tracingDisabledRoutes: string[];
  faroUrl?: string;
  replica: string;
  /** How long /readyz waits for `select 1`. */
  readyTimeoutMs: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is required');
  return {
    port: Number(env.PORT ?? 0),
    databaseUrl: env.DATABASE_URL,
    otlpTracesUrl: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined,
    tracingDisabledRoutes: (env.TRACING_DISABLED_ROUTES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    faroUrl: env.FARO_URL || undefined,
    replica: env.REPLICA_NAME ?? 'replica',
    readyTimeoutMs: Number(env.READY_TIMEOUT_MS ?? 1000),
  };
}
