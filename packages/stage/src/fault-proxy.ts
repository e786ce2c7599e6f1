// A TCP proxy whose network effects can be changed while it runs: the stage puts one between
// the balancer and each replica and one between the replicas and PostgreSQL.
//
// Effects (all apply to existing and new connections from the moment they are set):
//   delayMs + jitterMs  every chunk is held delayMs ± jitterMs (order kept) in the chosen direction
//   bandwidth           bytes per second per connection and direction (token-bucket pacing)
//   blackhole           connections are accepted, nothing is carried in the chosen direction
//   loss                fraction (0..1) of NEW connections reset right after accept. TCP hides
//                       dropped segments by retransmitting, and dropping bytes from the stream
//                       would corrupt the protocol, so loss is modelled as connection failures:
//                       observable as client errors in proportion to `loss`.
//   reset               every open connection is destroyed with RST, and new ones too
// `direction`: 'to' = client → upstream, 'from' = upstream → client, 'both' (default).
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './ports.ts';

export interface ProxyEffects {
  delayMs?: number;
  jitterMs?: number;
  loss?: number;
  reset?: boolean;
  blackhole?: boolean;
  bandwidth?: number;
  direction?: 'to' | 'from' | 'both';
}

export interface ProxyStats {
  accepted: number;
  refused: number;
  reset: number;
  active: number;
  bytesTo: number;
  bytesFrom: number;
}

/** Checks a JSON body from the control API; returns the effects or an error text. */
export function parseEffects(body: unknown): ProxyEffects | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const b = body as Record<string, unknown>;
  const known = ['delayMs', 'jitterMs', 'loss', 'reset', 'blackhole', 'bandwidth', 'direction'];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length) return `unknown effect(s): ${unknown.join(', ')} (known: ${known.join(', ')})`;
  const out: ProxyEffects = {};
  for (const k of ['delayMs', 'jitterMs', 'bandwidth'] as const) {
    if (b[k] === undefined) continue;
    if (typeof b[k] !== 'number' || !Number.isFinite(b[k]) || (b[k] as number) < 0) return `${k} must be a number ≥ 0`;
    out[k] = b[k] as number;
  }
  if (out.bandwidth === 0) return 'bandwidth must be > 0 (use blackhole to carry nothing)';
  if (b.loss !== undefined) {
    if (typeof b.loss !== 'number' || b.loss < 0 || b.loss > 1) return 'loss must be a fraction between 0 and 1';
    out.loss = b.loss;
  }
  for (const k of ['reset', 'blackhole'] as const) {
    if (b[k] === undefined) continue;
    if (typeof b[k] !== 'boolean') return `${k} must be true or false`;
    out[k] = b[k] as boolean;
  }
  if (b.direction !== undefined) {
    if (b.direction !== 'to' && b.direction !== 'from' && b.direction !== 'both') return "direction must be 'to', 'from' or 'both'";
    out.direction = b.direction;
  }
  return out;
}

type Dir = 'to' | 'from';

function listenAt(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** One direction of one connection: paces chunks according to the proxy's current effects. */
class Pump {
  private queue: Array<{ chunk: Buffer; at: number }> = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  private ended = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly dir: Dir,
    private readonly proxy: FaultProxy,
  ) {
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    src.on('end', () => {
      this.ended = true;
      this.flush();
    });
  }

  private onData(chunk: Buffer): void {
    const fx = this.proxy.effectsFor(this.dir);
    if (fx.blackhole) return; // carried nowhere
    this.proxy.count(this.dir, chunk.length);
    const delay = (fx.delayMs ?? 0) + (fx.jitterMs ? (Math.random() * 2 - 1) * fx.jitterMs : 0);
    const transmit = fx.bandwidth ? (chunk.length / fx.bandwidth) * 1000 : 0;
    if (delay <= 0 && transmit === 0 && this.queue.length === 0) {
      if (!this.dst.write(chunk)) this.waitDrain();
      return;
    }
    // Order is kept: a chunk never leaves before the one ahead of it.
    const at = Math.max(this.lastAt, Date.now() + Math.max(0, delay)) + transmit;
    this.lastAt = at;
    this.queue.push({ chunk, at });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > 1 << 20) this.src.pause(); // bound memory under throttling
    this.schedule();
  }

  private waitDrain(): void {
    this.src.pause();
    this.dst.once('drain', () => this.src.resume());
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, this.queue[0]!.at - Date.now()),
    );
  }

  private flush(): void {
    const now = Date.now();
    while (this.queue.length && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      if (!this.dst.destroyed) this.dst.write(chunk);
    }
    if (this.queuedBytes < 1 << 18 && this.src.isPaused() && !this.dst.writableNeedDrain) this.src.resume();
    if (this.queue.length) this.schedule();
    else if (this.ended && !this.proxy.effectsFor(this.dir).blackhole) this.dst.end();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }
}

export class FaultProxy {
  private server: Server | undefined;
  private effects: ProxyEffects = {};
  private readonly conns = new Set<{ client: Socket; upstream: Socket; pumps: Pump[] }>();
  readonly stats: ProxyStats = { accepted: 0, refused: 0, reset: 0, active: 0, bytesTo: 0, bytesFrom: 0 };
  port = 0;

  constructor(
    readonly name: string,
    readonly target: { host: string; port: number },
    private readonly listenPort = 0,
    /** Loopback unless a caller names another address of this machine (a hosts target's `proxy.listen`). */
    private readonly listenHost = '127.0.0.1',
  ) {}

  async start(): Promise<number> {
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => this.accept(client));
    this.server = server;
    this.port = this.listenHost === '127.0.0.1' ? await listenOnLoopback(server, this.listenPort) : await listenAt(server, this.listenHost, this.listenPort);
    return this.port;
  }

  get current(): ProxyEffects {
    return { ...this.effects };
  }

  /** Effects that apply to one direction (`direction` narrows delay/bandwidth/blackhole). */
  effectsFor(dir: Dir): ProxyEffects {
    const d = this.effects.direction ?? 'both';
    return d === 'both' || d === dir ? this.effects : {};
  }

  count(dir: Dir, bytes: number): void {
    if (dir === 'to') this.stats.bytesTo += bytes;
    else this.stats.bytesFrom += bytes;
  }

  set(effects: ProxyEffects): void {
    this.effects = { ...effects };
    if (effects.reset) for (const c of [...this.conns]) this.resetConn(c);
  }

  clear(): void {
    this.effects = {};
  }

  private resetConn(c: { client: Socket; upstream: Socket; pumps: Pump[] }): void {
    this.stats.reset++;
    for (const p of c.pumps) p.stop();
    c.client.resetAndDestroy();
    c.upstream.resetAndDestroy();
    this.conns.delete(c);
  }

  private accept(client: Socket): void {
    this.stats.accepted++;
    client.on('error', () => {});
    if (this.effects.reset || (this.effects.loss && Math.random() < this.effects.loss)) {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    // Half-open allowed on both legs: a FIN is forwarded by the pump once its queue is empty.
    const upstream = createConnection({ host: this.target.host, port: this.target.port, noDelay: true, allowHalfOpen: true });
    const conn = { client, upstream, pumps: [] as Pump[] };
    conn.pumps.push(new Pump(client, upstream, 'to', this), new Pump(upstream, client, 'from', this));
    this.conns.add(conn);
    this.stats.active = this.conns.size;
    const forget = () => {
      if (!this.conns.delete(conn)) return;
      this.stats.active = this.conns.size;
      for (const p of conn.pumps) p.stop();
    };
    // An upstream that fails (refused, reset) is passed on as a reset, as a real network would.
    upstream.on('error', () => {
      forget();
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.on('error', () => {
      forget();
      upstream.destroy();
    });
    client.on('close', () => {
      forget();
      if (!upstream.destroyed) upstream.destroy();
    });
  }

  async stop(): Promise<void> {
    for (const c of [...this.conns]) {
      for (const p of c.pumps) p.stop();
      c.client.destroy();
      c.upstream.destroy();
    }
    this.conns.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
