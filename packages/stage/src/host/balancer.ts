// Health-checked round-robin reverse proxy in front of the replicas. Each replica is
// reached through its fault proxy, so network faults on `replica-N` hit real traffic and
// the health checks alike. When no replica is ready it fails open (like Envoy's panic
// mode) so requests still reach the service and show up in its own error metrics.
import http from 'node:http';
import { listenOnLoopback } from '../ports.ts';
import { EventEmitter } from 'node:events';

export interface Backend {
  name: string;
  /** Where the balancer sends traffic (the replica's fault proxy). */
  port: number;
}

export interface BalancerStats {
  requests: (replica: string, code: number) => void;
}

export class Balancer extends EventEmitter<{ change: [] }> {
  private readonly ready = new Map<string, boolean>();
  private next = 0;
  private server: http.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  port = 0;

  constructor(
    private readonly backends: Backend[],
    private readonly onRequest: (replica: string, code: number) => void,
    private readonly checkIntervalMs = 250,
  ) {
    super();
    for (const b of backends) this.ready.set(b.name, false);
  }

  isReady(name: string): boolean {
    return this.ready.get(name) ?? false;
  }

  readyCount(): number {
    return [...this.ready.values()].filter(Boolean).length;
  }

  private check(b: Backend): Promise<void> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: b.port, path: '/readyz', timeout: 1_000, agent: false }, (res) => {
        res.resume();
        res.on('end', () => {
          this.set(b.name, res.statusCode === 200);
          resolve();
        });
        res.on('error', () => {
          this.set(b.name, false);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        this.set(b.name, false);
        resolve();
      });
    });
  }

  private set(name: string, ok: boolean): void {
    if (this.ready.get(name) === ok) return;
    this.ready.set(name, ok);
    this.emit('change');
  }

  /** Marks a replica down at once (the supervisor saw it exit) instead of at the next check. */
  markDown(name: string): void {
    this.set(name, false);
  }

  private loop(): void {
    void Promise.all(this.backends.map((b) => this.check(b))).then(() => {
      if (this.server?.listening) this.timer = setTimeout(() => this.loop(), this.checkIntervalMs);
    });
  }

  private pick(): Backend | undefined {
    const healthy = this.backends.filter((b) => this.ready.get(b.name));
    const pool = healthy.length ? healthy : this.backends;
    if (!pool.length) return undefined;
    return pool[this.next++ % pool.length];
  }

  async start(port = 0): Promise<number> {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.keepAliveTimeout = 5_000;
    this.port = await listenOnLoopback(this.server, port);
    this.loop();
    return this.port;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const b = this.pick();
    if (!b) {
      res.writeHead(503).end('no replica');
      return;
    }
    const up = http.request(
      {
        host: '127.0.0.1',
        port: b.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
        agent: this.agent,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('end', () => this.onRequest(b.name, upRes.statusCode ?? 502));
        upRes.on('error', () => res.destroy());
      },
    );
    // The replica's connection failed (killed, reset by a fault): 502, as nginx would answer.
    up.on('error', (err) => {
      this.onRequest(b.name, 502);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`bad gateway: ${b.name}: ${err.message}`);
      else res.destroy();
    });
    req.pipe(up);
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.agent.destroy();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
