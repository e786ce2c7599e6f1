// `drill remediate --listen`: an Alertmanager webhook receiver for the team's own stage that runs
// the remediation scripts the drills declare (`remediate: { onAlert, run }`), so what a game-day
// drills is exactly what runs when the alert fires for real. Same doors as the harness's own
// receivers: a bearer token, no browser requests, bounded bodies; one run per alert instance
// until it resolves, and every action logged.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RemediationPlan } from '../define/types.ts';
import { alertKey, parseWebhookPayload, type WebhookPayload } from '../observe/alert-watcher.ts';
import { bearerOf, HttpError, readBody, refuse, tokenMatches, type BodyLimits } from '../observe/http-input.ts';
import { remediationEnv, runRemediationScript } from './remediation.ts';

// Alertmanager payloads are a few kilobytes per alert group; a megabyte is generous.
const LIMITS: BodyLimits = { maxBytes: 1024 * 1024, maxDecodedBytes: 1024 * 1024, timeoutMs: 10_000 };

/** One configured remediation: which alert runs which script, and the target whose URL it gets. */
export interface ServedRemediation {
  remediate: RemediationPlan;
  target?: string;
  /** Where it was declared (`drills/x.ts` phase `bad-migration`), for the log. */
  from: string;
}

/** One line of the action log. */
export interface RemediationAction {
  t: number;
  alert: string;
  labels: Record<string, string>;
  script: string;
  from: string;
  ok: boolean;
  exitCode: number | null;
  durationMs: number;
  output: string;
  error?: string;
}

export interface ListenerOptions {
  projectRoot: string;
  environment: string;
  remediations: readonly ServedRemediation[];
  token: string;
  host: string;
  port: number;
  targetUrl: (target: string) => string | undefined;
  onAction: (action: RemediationAction) => void;
  log: (line: string) => void;
}

/** Pure: "host:port", "[::1]:port" or a bare port (loopback) → where to listen. */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const a = addr.trim();
  const m = /^\d+$/.test(a) ? [a, undefined, undefined, a] : /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(a);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--listen '${addr}' is not host:port or a port: write --listen 127.0.0.1:9095`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** Pure: the remediations a payload's alerts start, with the instance key of each (firing only). */
export function remediationsFor(
  payload: WebhookPayload,
  served: readonly ServedRemediation[],
): Array<{ key: string; labels: Record<string, string>; served: ServedRemediation }> {
  const out: Array<{ key: string; labels: Record<string, string>; served: ServedRemediation }> = [];
  for (const a of payload.alerts) {
    if (a.status !== 'firing') continue;
    for (const s of served)
      if (a.labels.alertname === s.remediate.onAlert) out.push({ key: `${s.remediate.run}|${alertKey(a.labels)}`, labels: a.labels, served: s });
  }
  return out;
}

export class RemediationListener {
  private server: Server | undefined;
  /** Alert instances whose script has run (or runs) and that have not resolved since. */
  private readonly handled = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  readonly refused = { unauthorised: 0, malformed: 0 };

  constructor(private readonly opts: ListenerOptions) {}

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.onRequest(req, res).catch((err: Error) => refuse(res, 500, err.message)));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host, resolve);
    });
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}/alertmanager`;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Alertmanager never sends Origin; a browser always does on a cross-site POST.
    if (req.headers.origin !== undefined) {
      this.refused.unauthorised++;
      return refuse(res, 403, 'requests from web pages are not accepted');
    }
    if (!tokenMatches(bearerOf(req), this.opts.token)) {
      this.refused.unauthorised++;
      return refuse(res, 401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    }
    if (req.method !== 'POST') return refuse(res, 405, 'POST only', { allow: 'POST' });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/alertmanager' && path !== '/') return refuse(res, 404, 'the webhook is /alertmanager');
    let payload: WebhookPayload;
    try {
      payload = parseWebhookPayload(JSON.parse((await readBody(req, LIMITS)).toString('utf8')));
    } catch (err) {
      this.refused.malformed++;
      if (err instanceof HttpError) return refuse(res, err.status, err.message);
      return refuse(res, 400, `not an Alertmanager webhook payload: ${(err as Error).message}`);
    }
    // Answer first: Alertmanager times out a slow receiver and sends again, which must not run the script twice.
    res.writeHead(200).end();
    for (const a of payload.alerts)
      if (a.status === 'resolved') for (const k of [...this.handled]) if (k.endsWith(`|${alertKey(a.labels)}`)) this.handled.delete(k);
    for (const hit of remediationsFor(payload, this.opts.remediations)) {
      if (this.handled.has(hit.key)) continue;
      this.handled.add(hit.key);
      const p = this.run(hit.labels, hit.served).finally(() => this.running.delete(p));
      this.running.add(p);
    }
  }

  private async run(labels: Record<string, string>, served: ServedRemediation): Promise<void> {
    const alert = labels.alertname ?? '(unnamed)';
    const t = Date.now();
    const targetUrl = served.target ? this.opts.targetUrl(served.target) : undefined;
    this.opts.log(`${alert} fired: running ${served.remediate.run} (${served.from})`);
    const env = remediationEnv({
      environment: this.opts.environment,
      alert,
      labels,
      ...(served.target ? { target: served.target } : {}),
      ...(targetUrl ? { targetUrl } : {}),
    });
    const run = await runRemediationScript(this.opts.projectRoot, served.remediate.run, env, { timeoutMs: served.remediate.timeout });
    this.opts.onAction({
      t,
      alert,
      labels,
      script: served.remediate.run,
      from: served.from,
      ok: run.ok,
      exitCode: run.exitCode,
      durationMs: run.durationMs,
      output: run.output,
      ...(run.error ? { error: run.error } : {}),
    });
  }

  /** Stops taking requests and waits for the scripts that run. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await Promise.all([...this.running]);
  }
}
