// The runner's HTTP/1.1 client for plain http: targets. A load profile sends the same request
// on every iteration, so it is serialized once and each send is one socket write; responses
// are framed by h1-parser.ts and dropped. Profiling the runner on a pinned core showed that
// undici's general-purpose path (a Request object, header validation, handler wrapping and a
// setImmediate resume per request) cost more user CPU per request than the whole rest of the
// runner; this client does only what a load generator needs. https: targets use undici.
import { connect, type Socket } from 'node:net';
import { H1ParseError, H1ResponseParser, type H1Response } from './h1-parser.ts';

export interface SendResult {
  status: number;
  /** Bytes received for the response (status line, headers, body); k6's data_received. */
  bytes: number;
}

/** Sends the profile's one request; a connection or a pool of them. */
export interface Sender {
  send(done: (r: SendResult) => void): void;
  destroy(): Promise<void>;
}

export interface H1Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | null;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Every connection of this thread reads into this one buffer: a read is parsed synchronously
// in its callback before the next read of any socket can happen (one event loop).
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The request's bytes. Header names must be tokens and values free of CR/LF (else a value
 * could smuggle a second request onto the connection); Host and Content-Length are added
 * unless given.
 */
export function serializeRequest(r: H1Request): Buffer {
  const body = r.body === null ? null : Buffer.from(r.body);
  const names = new Set(Object.keys(r.headers).map((k) => k.toLowerCase()));
  let head = `${r.method} ${r.url.pathname}${r.url.search} HTTP/1.1\r\n`;
  if (!names.has('host')) head += `host: ${r.url.host}\r\n`;
  for (const [k, v] of Object.entries(r.headers)) {
    if (!TOKEN.test(k)) throw new Error(`request header name '${k}' is not an HTTP token: use letters, digits and !#$%&'*+-.^_\`|~ only`);
    if (/[\r\n\0]/.test(v)) throw new Error(`request header '${k}' holds a line break or NUL: remove it from the value`);
    head += `${k}: ${v}\r\n`;
  }
  const payloadMethod = r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH';
  if (!names.has('content-length') && (body || payloadMethod)) head += `content-length: ${body?.length ?? 0}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/**
 * One keep-alive connection, one request at a time (sends made while one is in flight wait
 * their turn, as VUs beyond the connection cap share one); reconnects when the server closed it.
 */
export class H1Connection implements Sender {
  private socket: Socket | undefined;
  private pending: ((r: SendResult) => void) | undefined;
  private waiting: Array<(r: SendResult) => void> = [];
  private destroyed = false;
  private readonly parser = new H1ResponseParser((r) => this.onResponse(r));
  private readonly head: boolean;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly bytes: Buffer,
    method: string,
  ) {
    this.head = method === 'HEAD';
  }

  send(done: (r: SendResult) => void): void {
    if (this.destroyed) return done({ status: 0, bytes: 0 });
    if (this.pending) return void this.waiting.push(done);
    this.pending = done;
    this.parser.expect(this.head);
    (this.socket ??= this.open()).write(this.bytes);
  }

  destroy(): Promise<void> {
    this.destroyed = true;
    this.socket?.destroy(); // its close event fails the request in flight
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w({ status: 0, bytes: 0 });
    return Promise.resolve();
  }

  private open(): Socket {
    const onData = (chunk: Buffer) => {
      if (s !== this.socket) return;
      try {
        this.parser.feed(chunk);
      } catch (err) {
        if (!(err instanceof H1ParseError)) throw err;
        s.destroy(); // not HTTP: the request fails on close
      }
    };
    // Reads land in one buffer reused for every read (onread), not a new Buffer pushed through
    // a Readable stream and a 'data' event per read: ~25 % of the runner's user CPU per
    // request on the pinned benchmark. The parser keeps no reference to what it is fed.
    const onRead = (n: number) => {
      onData(readBuffer.subarray(0, n));
      return true; // keep reading
    };
    const s = connect({ host: this.host, port: this.port, onread: { buffer: readBuffer, callback: onRead } });
    s.setNoDelay(true);
    s.on('error', () => {}); // refused, reset: reported through close
    s.on('close', () => {
      if (s !== this.socket) return;
      this.socket = undefined;
      const completed = this.parser.end(); // a response delimited by the close completes here
      if (!completed && this.pending) this.settle({ status: 0, bytes: 0 });
    });
    return s;
  }

  private onResponse(r: H1Response): void {
    if (!r.keepAlive && this.socket) {
      const s = this.socket;
      this.socket = undefined;
      s.destroy();
    }
    this.settle({ status: r.status, bytes: r.bytes });
  }

  private settle(r: SendResult): void {
    const done = this.pending;
    this.pending = undefined;
    const next = this.waiting.shift(); // VUs sharing a connection are few: shift() is cheap here
    if (next) this.send(next);
    done?.(r);
  }
}

/**
 * Up to `size` connections shared by an arrival-rate scenario's iterations: a free one is
 * taken from a stack, and when none is free the send waits in a FIFO queue (its wait counts
 * in its latency, as it would for a client waiting for a connection).
 */
export class H1Pool implements Sender {
  private readonly all: H1Connection[] = [];
  private readonly free: H1Connection[] = [];
  private queue: Array<(r: SendResult) => void> = [];
  private queueHead = 0;
  private destroyed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly bytes: Buffer,
    private readonly method: string,
    private readonly size: number,
  ) {}

  send(done: (r: SendResult) => void): void {
    if (this.destroyed) return done({ status: 0, bytes: 0 });
    let c = this.free.pop();
    if (!c && this.all.length < this.size) {
      c = new H1Connection(this.host, this.port, this.bytes, this.method);
      this.all.push(c);
    }
    if (c) this.run(c, done);
    else this.queue.push(done);
  }

  destroy(): Promise<void> {
    this.destroyed = true;
    const waiting = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const c of this.all) void c.destroy();
    for (const w of waiting) w({ status: 0, bytes: 0 });
    return Promise.resolve();
  }

  private run(c: H1Connection, done: (r: SendResult) => void): void {
    c.send((r) => {
      const next = this.next();
      if (next) this.run(c, next);
      else this.free.push(c);
      done(r);
    });
  }

  private next(): ((r: SendResult) => void) | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const n = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as never;
    // Drop the consumed front now and then, so the queue does not grow for the whole run.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return n;
  }
}

/** Host and port of an http: URL as net.connect wants them. */
export function endpoint(url: URL): { host: string; port: number } {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port ? Number(url.port) : 80 };
}
