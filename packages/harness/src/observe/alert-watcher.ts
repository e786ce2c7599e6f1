// Watches alerts from two sides and records each transition once per source:
// Prometheus's own view (polled /api/v1/alerts: pending, firing, resolved) and what
// Alertmanager delivers to the harness's webhook (firing, resolved). TTD reads these.
// The webhook takes only the run's Alertmanager: a per-run bearer token, no browser
// requests, bounded bodies, and only payloads for the run's receiver and external labels.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunEvent, RunLogSink } from '../engine/types.ts';
import { bearerOf, HttpError, newToken, readBody, refuse, tokenMatches, type BodyLimits } from './http-input.ts';
import { PrometheusClient } from './prometheus.ts';
import { EnvironmentError } from '../errors.ts';

type AlertState = 'pending' | 'firing' | 'resolved';
type AlertEvent = Extract<RunEvent, { kind: 'alert' }>;

/** Alertmanager's webhook payload (version 4), the parts we read. */
export interface WebhookPayload {
  version?: string;
  status?: string;
  receiver?: string;
  alerts: Array<{ status: 'firing' | 'resolved'; labels: Record<string, string> }>;
}

// Alertmanager payloads are a few kilobytes per alert group; a megabyte is generous.
const WEBHOOK_LIMITS: BodyLimits = { maxBytes: 1024 * 1024, maxDecodedBytes: 1024 * 1024, timeoutMs: 10_000 };

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Pure: a parsed JSON body as a webhook payload, or an error naming the field that is wrong. */
export function parseWebhookPayload(body: unknown): WebhookPayload {
  if (!isRecord(body)) throw new Error('the body is not a JSON object');
  if (!Array.isArray(body.alerts)) throw new Error("'alerts' is not a list");
  const alerts = body.alerts.map((a: unknown, i): WebhookPayload['alerts'][number] => {
    if (!isRecord(a) || (a.status !== 'firing' && a.status !== 'resolved')) throw new Error(`alerts[${i}].status is not 'firing' or 'resolved'`);
    if (!isRecord(a.labels) || !Object.values(a.labels).every((v) => typeof v === 'string')) throw new Error(`alerts[${i}].labels is not a map of strings`);
    return { status: a.status, labels: a.labels as Record<string, string> };
  });
  return {
    alerts,
    ...(typeof body.version === 'string' ? { version: body.version } : {}),
    ...(typeof body.status === 'string' ? { status: body.status } : {}),
    ...(typeof body.receiver === 'string' ? { receiver: body.receiver } : {}),
  };
}

/** What a webhook payload must carry to be the run's: its receiver name, and Prometheus' external labels on every alert. */
export interface AlertMatch {
  receiver?: string;
  externalLabels?: Record<string, string>;
}

/** Pure: which of a payload's alerts belong to the run; all of them when nothing is required. */
export function matchingAlerts(payload: WebhookPayload, match: AlertMatch): { accepted: WebhookPayload['alerts']; ignored: number } {
  if (match.receiver !== undefined && payload.receiver !== match.receiver) return { accepted: [], ignored: Math.max(1, payload.alerts.length) };
  const required = Object.entries(match.externalLabels ?? {});
  const accepted = payload.alerts.filter((a) => required.every(([k, v]) => a.labels[k] === v));
  return { accepted, ignored: payload.alerts.length - accepted.length };
}

export interface WatcherHealth {
  /** Polls of Prometheus kept failing: alert transitions may have been missed. Stays set once it happened. */
  prometheusLost?: { since: number; error: string; failures: number; until?: number };
}

/** Identity of one alert instance: its name plus its labels, sorted. */
export function alertKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/**
 * Pure: given the alerts Prometheus reports now and what was last seen, the
 * transitions to record. An alert that disappears from the list has resolved.
 */
export function diffAlertStates(
  previous: ReadonlyMap<string, { state: AlertState; labels: Record<string, string> }>,
  current: Array<{ labels: Record<string, string>; state: string }>,
): {
  transitions: Array<{ key: string; state: AlertState; labels: Record<string, string> }>;
  next: Map<string, { state: AlertState; labels: Record<string, string> }>;
} {
  const next = new Map<string, { state: AlertState; labels: Record<string, string> }>();
  const transitions: Array<{ key: string; state: AlertState; labels: Record<string, string> }> = [];
  for (const a of current) {
    if (a.state !== 'pending' && a.state !== 'firing') continue;
    const key = alertKey(a.labels);
    const state = a.state;
    next.set(key, { state, labels: a.labels });
    if (previous.get(key)?.state !== state) transitions.push({ key, state, labels: a.labels });
  }
  for (const [key, prev] of previous) {
    if (!next.has(key) && prev.state !== 'resolved') transitions.push({ key, state: 'resolved', labels: prev.labels });
  }
  return { transitions, next };
}

export interface AlertWatcherOptions {
  now: () => number;
  prometheus?: PrometheusClient | undefined;
  pollEveryMs?: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Prometheus counts as lost once polls have failed without a break for this long (and at least twice). Default 5 s. */
  lostAfterMs?: number;
  /**
   * A fixed webhook a team's Alertmanager is configured for: this loopback port and bearer token (from
   * the environment's `alertWebhook`). Default: a port picked now and a per-run token.
   */
  webhook?: { port: number; token: string };
}

export class AlertWatcher {
  readonly name = 'alert-watcher';
  private server: Server | undefined;
  private sink: RunLogSink | undefined;
  private readonly buffered: AlertEvent[] = [];
  private readonly webhookSeen = new Map<string, AlertState>();
  private poller: Promise<void> | undefined;
  private controller: AbortController | undefined;
  /** Every transition seen, for reports and tests. */
  readonly transitions: AlertEvent[] = [];
  /** Alertmanager must send `Authorization: Bearer <webhookToken>` (its webhook_config's http_config). */
  readonly webhookToken: string;
  private match: AlertMatch = {};
  private readonly refused = { unauthorised: 0, foreign: 0 };
  private lost: WatcherHealth['prometheusLost'];

  constructor(private readonly options: AlertWatcherOptions) {
    this.webhookToken = options.webhook?.token ?? newToken();
  }

  /** Only alerts from this receiver, carrying these external labels, count; others are ignored and counted. */
  acceptOnly(match: AlertMatch): void {
    this.match = { ...match, ...(match.externalLabels ? { externalLabels: { ...match.externalLabels } } : {}) };
  }

  /** Webhook requests refused (no or wrong token, from a browser) plus alerts ignored as not the run's. */
  get rejected(): number {
    return this.refused.unauthorised + this.refused.foreign;
  }

  /** The same, by reason, for the run's facts. */
  rejections(): { unauthorised: number; foreign: number } {
    return { ...this.refused };
  }

  health(): WatcherHealth {
    return this.lost ? { prometheusLost: { ...this.lost } } : {};
  }

  /** Points the poller at a Prometheus known only after the webhook URL was handed out (the local stage). */
  usePrometheus(prometheus: PrometheusClient): void {
    this.options.prometheus = prometheus;
  }

  /** Starts the webhook receiver on 127.0.0.1 and returns the URL Alertmanager should post to. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.onRequest(req, res).catch((err: Error) => refuse(res, 500, err.message)));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    const fixed = this.options.webhook?.port;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE' && fixed
            ? new EnvironmentError(`the alert webhook port ${fixed} is in use (another drill running, or another program): free it or change alertWebhook.port`)
            : err,
        ),
      );
      this.server!.listen(fixed ?? 0, '127.0.0.1', resolve);
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/alertmanager`;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Alertmanager never sends Origin; a browser always does on a cross-site POST.
    if (req.headers.origin !== undefined) {
      this.refused.unauthorised++;
      return refuse(res, 403, 'requests from web pages are not accepted');
    }
    if (!tokenMatches(bearerOf(req), this.webhookToken)) {
      this.refused.unauthorised++;
      return refuse(res, 401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    }
    if (req.method !== 'POST') return refuse(res, 405, 'POST only', { allow: 'POST' });
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/alertmanager') return refuse(res, 404, 'the webhook is /alertmanager');
    let payload: WebhookPayload;
    try {
      const body = await readBody(req, WEBHOOK_LIMITS);
      payload = parseWebhookPayload(JSON.parse(body.toString('utf8')));
    } catch (err) {
      if (err instanceof HttpError) return refuse(res, err.status, err.message);
      return refuse(res, 400, `not an Alertmanager webhook payload: ${(err as Error).message}`);
    }
    this.onWebhook(payload);
    res.writeHead(200).end();
  }

  private record(event: AlertEvent): void {
    this.transitions.push(event);
    if (this.sink) this.sink.append(event);
    else this.buffered.push(event);
  }

  private onWebhook(payload: WebhookPayload): void {
    const { accepted, ignored } = matchingAlerts(payload, this.match);
    this.refused.foreign += ignored;
    for (const a of accepted) {
      const key = alertKey(a.labels);
      const state: AlertState = a.status === 'resolved' ? 'resolved' : 'firing';
      if (this.webhookSeen.get(key) === state) continue; // repeats of a notification are not transitions
      this.webhookSeen.set(key, state);
      this.record({ t: this.options.now(), kind: 'alert', alert: a.labels.alertname ?? '(unnamed)', state, source: 'alertmanager', labels: a.labels });
    }
  }

  /** Background task for the timeline: starts polling Prometheus and flushes webhook events into the run log. */
  start(sink: RunLogSink): void {
    this.sink = sink;
    for (const e of this.buffered.splice(0)) sink.append(e);
    if (!this.options.prometheus) return;
    this.controller = new AbortController();
    const signal = this.controller.signal;
    const prometheus = this.options.prometheus;
    const every = this.options.pollEveryMs ?? 250;
    const lostAfterMs = this.options.lostAfterMs ?? 5_000;
    this.poller = (async () => {
      let seen = new Map<string, { state: AlertState; labels: Record<string, string> }>();
      let streak: { since: number; failures: number } | undefined;
      while (!signal.aborted) {
        try {
          const alerts = await prometheus.alerts(signal);
          const { transitions, next } = diffAlertStates(seen, alerts);
          seen = next;
          const t = this.options.now();
          for (const tr of transitions)
            this.record({ t, kind: 'alert', alert: tr.labels.alertname ?? '(unnamed)', state: tr.state, source: 'prometheus', labels: tr.labels });
          if (streak && this.lost && this.lost.until === undefined) this.lost.until = t;
          streak = undefined;
        } catch (err) {
          if (signal.aborted) break;
          // One failed poll is a blip (the next one tries again); a streak means Prometheus is
          // gone, and a run that cannot see its alerts is an environment error, not a verdict.
          const t = this.options.now();
          streak = streak ? { since: streak.since, failures: streak.failures + 1 } : { since: t, failures: 1 };
          if (!this.lost && streak.failures >= 2 && t - streak.since >= lostAfterMs) {
            this.lost = { since: streak.since, error: (err as Error).message, failures: streak.failures };
          } else if (this.lost && this.lost.until === undefined) this.lost.failures = streak.failures;
        }
        await this.options.sleep(every, signal).catch(() => {});
      }
    })();
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.poller;
    this.sink = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
