// A small client for Prometheus's HTTP API: instant and range queries, alerts, rules.
// Answers are typed as Prometheus documents them; errors name the query and the server.
import { request } from 'undici';

export interface PromSample {
  metric: Record<string, string>;
  value: number;
  /** Seconds since epoch, as Prometheus reports it. */
  time: number;
}

export interface PromSeries {
  metric: Record<string, string>;
  values: Array<{ time: number; value: number }>;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'inactive' | 'pending' | 'firing';
  activeAt?: string;
  value?: string;
}

export class PrometheusError extends Error {
  constructor(
    readonly baseUrl: string,
    readonly what: string,
    message: string,
  ) {
    super(`Prometheus at ${baseUrl}: ${what}: ${message}`);
    this.name = 'PrometheusError';
  }
}

type ApiEnvelope<T> = { status: 'success'; data: T } | { status: 'error'; errorType: string; error: string };

/** Basic-auth credentials (the local stage's Prometheus requires them). */
export interface PromBasicAuth {
  username: string;
  password: string;
}

export class PrometheusClient {
  private readonly authorization: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5_000,
    auth?: PromBasicAuth,
  ) {
    // Kept as the header only: the credentials are not a field a log or JSON.stringify could show.
    this.authorization = auth && `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }

  private async get<T>(path: string, params: Record<string, string>, what: string, signal?: AbortSignal): Promise<T> {
    const url = new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers = this.authorization ? { authorization: this.authorization } : {};
    const res = await request(url, { method: 'GET', headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const text = await res.body.text();
    if (res.statusCode === 401) {
      throw new PrometheusError(this.baseUrl, what, 'HTTP 401: credentials missing or wrong (the local stage gives them in stage.auth.prometheus)');
    }
    let body: ApiEnvelope<T>;
    try {
      body = JSON.parse(text) as ApiEnvelope<T>;
    } catch {
      throw new PrometheusError(this.baseUrl, what, `HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`);
    }
    if (body.status !== 'success') throw new PrometheusError(this.baseUrl, what, `${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** An instant query; scalars come back as one sample with no labels. */
  async query(promql: string, opts: { time?: number; signal?: AbortSignal } = {}): Promise<PromSample[]> {
    const params: Record<string, string> = { query: promql };
    if (opts.time !== undefined) params.time = String(opts.time / 1000);
    const data = await this.get<{ resultType: string; result: unknown }>('api/v1/query', params, `query ${promql}`, opts.signal);
    if (data.resultType === 'scalar' || data.resultType === 'string') {
      const [time, value] = data.result as [number, string];
      return [{ metric: {}, time, value: Number(value) }];
    }
    return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({
      metric: r.metric,
      time: r.value[0],
      value: Number(r.value[1]),
    }));
  }

  async queryRange(promql: string, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal): Promise<PromSeries[]> {
    const data = await this.get<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(
      'api/v1/query_range',
      { query: promql, start: String(startMs / 1000), end: String(endMs / 1000), step: `${stepMs / 1000}s` },
      `query_range ${promql}`,
      signal,
    );
    return data.result.map((r) => ({ metric: r.metric, values: r.values.map(([time, v]) => ({ time, value: Number(v) })) }));
  }

  async alerts(signal?: AbortSignal): Promise<PromAlert[]> {
    const data = await this.get<{ alerts: PromAlert[] }>('api/v1/alerts', {}, 'alerts', signal);
    return data.alerts;
  }

  async rules(
    signal?: AbortSignal,
  ): Promise<Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; type: string; state?: string }> }>> {
    const data = await this.get<{
      groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; type: string; state?: string }> }>;
    }>('api/v1/rules', {}, 'rules', signal);
    return data.groups;
  }
}
