// The service's configuration, from environment variables (set by the stage's supervisor).
export interface ServiceConfig {
  port: number;
  databaseUrl: string;
  /** OTLP/HTTP traces endpoint (…/v1/traces); tracing is off when unset. */
  otlpTracesUrl?: string;
  /** Headers sent with every OTLP export (the collector's bearer token). */
  otlpHeaders: Record<string, string>;
  /** Routes whose requests are not traced, e.g. "GET /report/:id". */
  tracingDisabledRoutes: string[];
  faroUrl?: string;
  /** Headers the page's Faro transport sends with each post. */
  faroHeaders: Record<string, string>;
  replica: string;
  /** How long /readyz waits for `select 1`. */
  readyTimeoutMs: number;
}

/** A JSON object of string values from `name`, or {} when unset. */
function headersFromEnv(env: NodeJS.ProcessEnv, name: string): Record<string, string> {
  const raw = env[name];
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not JSON; it must be an object of header names to string values`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new Error(`${name} must be a JSON object of header names to string values`);
  }
  return parsed as Record<string, string>;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is required');
  return {
    port: Number(env.PORT ?? 0),
    databaseUrl: env.DATABASE_URL,
    otlpTracesUrl: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined,
    otlpHeaders: headersFromEnv(env, 'OTLP_TRACES_HEADERS'),
    tracingDisabledRoutes: (env.TRACING_DISABLED_ROUTES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    faroUrl: env.FARO_URL || undefined,
    faroHeaders: headersFromEnv(env, 'FARO_HEADERS'),
    replica: env.REPLICA_NAME ?? 'replica',
    readyTimeoutMs: Number(env.READY_TIMEOUT_MS ?? 1000),
  };
}
