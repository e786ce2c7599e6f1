// Watches alerts from two sides and records each transition once per source:
// Prometheus's own view (polled /api/v1/alerts: pending, firing, resolved) and what
// Alertmanager delivers to the harness's webhook (firing, resolved). TTD reads these.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunEvent, RunLogSink } from '../engine/types.ts';
import { PrometheusClient } from './prometheus.ts';

type AlertState = 'pending' | 'firing' | 'resolved';
type AlertEvent = Extract<RunEvent, { kind: 'alert' }>;

/** Alertmanager's webhook payload (version 4), the parts we read. */
interface WebhookPayload {
  version?: string;
  status?: string;
  alerts?: Array<{ status: 'firing' | 'resolved'; labels: Record<string, string>; startsAt?: string; endsAt?: string; fingerprint?: string }>;
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
): { transitions: Array<{ key: string; state: AlertState; labels: Record<string, string> }>; next: Map<string, { state: AlertState; labels: Record<string, string> }> } {
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

  constructor(private readonly options: AlertWatcherOptions) {}

  /** Points the poller at a Prometheus known only after the webhook URL was handed out (the local stage). */
  usePrometheus(prometheus: PrometheusClient): void {
    this.options.prometheus = prometheus;
  }

  /** Starts the webhook receiver on 127.0.0.1 and returns the URL Alertmanager should post to. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.onWebhook(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload);
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end('not an Alertmanager webhook payload');
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/alertmanager`;
  }

  private record(event: AlertEvent): void {
    this.transitions.push(event);
    if (this.sink) this.sink.append(event);
    else this.buffered.push(event);
  }

  private onWebhook(payload: WebhookPayload): void {
    for (const a of payload.alerts ?? []) {
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
    this.poller = (async () => {
      let seen = new Map<string, { state: AlertState; labels: Record<string, string> }>();
      while (!signal.aborted) {
        try {
          const alerts = await prometheus.alerts(signal);
          const { transitions, next } = diffAlertStates(seen, alerts);
          seen = next;
          const t = this.options.now();
          for (const tr of transitions) this.record({ t, kind: 'alert', alert: tr.labels.alertname ?? '(unnamed)', state: tr.state, source: 'prometheus', labels: tr.labels });
        } catch {
          // Prometheus briefly unreachable: the next poll tries again; gaps show in the log as missing transitions.
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
