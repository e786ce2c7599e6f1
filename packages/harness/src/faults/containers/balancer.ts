// A TCP round-robin balancer on loopback in front of a service's replicas (one per named
// port): a replica that refuses the connection (killed, restarting) is skipped for the next,
// as a Kubernetes Service skips a pod that is not ready. Connections already open stay put.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class Balancer {
  private server: Server | undefined;
  private next = 0;
  private readonly open = new Set<Socket>();
  port = 0;

  constructor(
    readonly name: string,
    private readonly upstreamPorts: readonly number[],
  ) {}

  async start(): Promise<number> {
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    client.pause();
    this.track(client);
    const first = this.next++ % this.upstreamPorts.length;
    const attempt = (tried: number) => {
      if (tried === this.upstreamPorts.length || client.destroyed) return void client.resetAndDestroy();
      const port = this.upstreamPorts[(first + tried) % this.upstreamPorts.length]!;
      const upstream = createConnection({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true });
      let connected = false;
      upstream.on('error', () => {
        if (connected) client.resetAndDestroy();
        else attempt(tried + 1); // refused: the next replica
      });
      upstream.once('connect', () => {
        connected = true;
        this.track(upstream);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  private track(s: Socket): void {
    this.open.add(s);
    s.once('close', () => this.open.delete(s));
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
