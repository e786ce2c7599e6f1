// The runner's own HTTP/1.1 client: the response framing on known bytes (whole, and split at
// every byte boundary), the serialized request, and connections and pools against a real
// node:http server on loopback (keep-alive reuse, close, chunked and large bodies, refusal,
// queueing).
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H1Connection, H1Pool, serializeRequest, type SendResult } from '../../src/load/h1-client.ts';
import { H1ParseError, H1ResponseParser, type H1Response } from '../../src/load/h1-parser.ts';

const BIG = 300_000; // several reads of the connections' shared 64 KiB read buffer

/** Feeds `wire` to a parser in pieces of `step` bytes (0: all at once); the responses it completed. */
function parse(wire: string, step = 0, head = false, expected = 1): H1Response[] {
  const out: H1Response[] = [];
  const p = new H1ResponseParser((r) => {
    out.push(r);
    if (out.length < expected) p.expect(head);
  });
  p.expect(head);
  const buf = Buffer.from(wire, 'latin1');
  if (step === 0) p.feed(buf);
  else for (let i = 0; i < buf.length; i += step) p.feed(buf.subarray(i, i + step));
  return out;
}

/** The same bytes split at every possible point into two reads must frame the same way. */
function everySplit(wire: string, head = false): H1Response[] {
  const buf = Buffer.from(wire, 'latin1');
  const whole = parse(wire, 0, head);
  for (let cut = 1; cut < buf.length; cut++) {
    const out: H1Response[] = [];
    const p = new H1ResponseParser((r) => out.push(r));
    p.expect(head);
    p.feed(buf.subarray(0, cut));
    p.feed(buf.subarray(cut));
    expect(out, `split at ${cut}`).toEqual(whole);
  }
  expect(parse(wire, 1, head)).toEqual(whole);
  return whole;
}

describe('HTTP/1.1 response framing', () => {
  it('Content-Length: status, every byte on the wire, keep-alive', () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n';
    expect(everySplit(wire)).toEqual([{ status: 200, bytes: wire.length, keepAlive: true }]);
  });
  it('chunked, with a chunk extension and a trailer', () => {
    const wire = 'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n';
    expect(everySplit(wire)).toEqual([{ status: 503, bytes: wire.length, keepAlive: true }]);
  });
  it('no body for 204, 304 and a HEAD request, whatever Content-Length says', () => {
    expect(everySplit('HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n')[0]!.status).toBe(204);
    expect(everySplit('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n')[0]!.status).toBe(304);
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n';
    expect(everySplit(head, true)).toEqual([{ status: 200, bytes: head.length, keepAlive: true }]);
  });
  it('skips interim 1xx responses and reports the final one, counting both', () => {
    const wire = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}';
    expect(everySplit(wire)).toEqual([{ status: 201, bytes: wire.length, keepAlive: true }]);
  });
  it('Connection: close and HTTP/1.0 end keep-alive; HTTP/1.0 keep-alive keeps it', () => {
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')[0]!.keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')[0]!.keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')[0]!.keepAlive).toBe(true);
  });
  it('a body with neither length nor chunking ends when the connection closes', () => {
    const out: H1Response[] = [];
    const p = new H1ResponseParser((r) => out.push(r));
    p.expect();
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\nabc'));
    p.feed(Buffer.from('def'));
    expect(out).toEqual([]);
    expect(p.end()).toBe(true);
    expect(out).toEqual([{ status: 200, bytes: 25, keepAlive: false }]);
  });
  it('a response cut short by the close is not completed', () => {
    const p = new H1ResponseParser(() => {
      throw new Error('must not complete');
    });
    p.expect();
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(p.end()).toBe(false);
  });
  it('consecutive responses on one connection, fed together', () => {
    const one = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const two = 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
    expect(parse(one + two, 0, false, 2).map((r) => [r.status, r.bytes])).toEqual([
      [200, one.length],
      [404, two.length],
    ]);
    expect(parse(one + two, 7, false, 2).map((r) => [r.status, r.bytes])).toEqual([
      [200, one.length],
      [404, two.length],
    ]);
  });
  it('rejects what is not HTTP/1.x, and bytes with no request outstanding', () => {
    expect(() => parse('SSH-2.0-OpenSSH\r\n\r\n')).toThrow(H1ParseError);
    expect(() => parse('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n')).toThrow(/not a number/);
    expect(() => parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')).toThrow(/hexadecimal/);
    expect(() => parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nextra')).toThrow(/no request outstanding/);
  });
});

describe('serialized request', () => {
  it('adds Host, and Content-Length for a body or a payload method', () => {
    const get = serializeRequest({ method: 'GET', url: new URL('http://127.0.0.1:8080/a?b=1'), headers: { accept: '*/*' }, body: null }).toString();
    expect(get).toBe('GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: */*\r\n\r\n');
    const post = serializeRequest({ method: 'POST', url: new URL('http://h/x'), headers: { Host: 'other' }, body: '{"a":"é"}' });
    expect(post.toString()).toBe('POST /x HTTP/1.1\r\nHost: other\r\ncontent-length: 10\r\n\r\n{"a":"é"}');
    expect(serializeRequest({ method: 'POST', url: new URL('http://h/'), headers: {}, body: null }).toString()).toContain('content-length: 0\r\n');
  });
  it('refuses header values that would smuggle a second request, and names that are not tokens', () => {
    const smuggled = { 'x-a': 'v\r\nGET /evil HTTP/1.1' };
    expect(() => serializeRequest({ method: 'GET', url: new URL('http://h/'), headers: smuggled, body: null })).toThrow(/x-a.*line break/);
    expect(() => serializeRequest({ method: 'GET', url: new URL('http://h/'), headers: { 'bad name': 'v' }, body: null })).toThrow(/not an HTTP token/);
  });
});

describe('connections and pools against a real server', () => {
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  let connections = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/close') return res.writeHead(200, { connection: 'close', 'content-length': '2' }).end('ok');
      if (req.url === '/chunked') {
        res.writeHead(200);
        res.write('part one,');
        setTimeout(() => res.end('part two'), 5);
        return;
      }
      if (req.url === '/slow') return void setTimeout(() => res.writeHead(200, { 'content-length': '0' }).end(), 30);
      if (req.url === '/big') return res.writeHead(200, { 'content-length': String(BIG) }).end(Buffer.alloc(BIG, 'x'));
      const status = Number(req.url!.slice(1)) || 200;
      res.writeHead(status, { 'content-length': '2' }).end('ok');
    });
    server.on('connection', (s: Socket) => {
      connections++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const bytesFor = (path: string) => serializeRequest({ method: 'GET', url: new URL(`http://127.0.0.1:${port}${path}`), headers: {}, body: null });
  const sendOn = (c: { send(d: (r: SendResult) => void): void }) => new Promise<SendResult>((r) => c.send(r));

  it('reuses one connection for successive requests and reports each status', async () => {
    const before = connections;
    const c = new H1Connection('127.0.0.1', port, bytesFor('/418'), 'GET');
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await sendOn(c));
    await c.destroy();
    expect(results.map((r) => r.status)).toEqual([418, 418, 418, 418, 418]);
    expect(results[0]!.bytes).toBeGreaterThan(2); // headers count, as in k6's data_received
    expect(connections - before).toBe(1);
  });
  it('reads a chunked body that arrives in several reads', async () => {
    const c = new H1Connection('127.0.0.1', port, bytesFor('/chunked'), 'GET');
    const r = await sendOn(c);
    await c.destroy();
    expect(r.status).toBe(200);
  });
  it('opens a new connection after the server closes one', async () => {
    const before = connections;
    const c = new H1Connection('127.0.0.1', port, bytesFor('/close'), 'GET');
    const statuses = [(await sendOn(c)).status, (await sendOn(c)).status, (await sendOn(c)).status];
    await c.destroy();
    expect(statuses).toEqual([200, 200, 200]);
    expect(connections - before).toBe(3);
  });
  it('a body ended by the server closing the connection completes, and the next send reconnects', async () => {
    const raw = createNetServer((c) =>
      c.on('data', () => {
        c.write('HTTP/1.1 200 OK\r\n\r\nuntil close');
        setTimeout(() => c.end(), 20);
      }),
    );
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const rawPort = (raw.address() as AddressInfo).port;
    const c = new H1Connection('127.0.0.1', rawPort, bytesFor('/'), 'GET');
    const results = [await sendOn(c), await sendOn(c)];
    await c.destroy();
    await new Promise<void>((r) => raw.close(() => r()));
    expect(results).toEqual([
      { status: 200, bytes: 30 },
      { status: 200, bytes: 30 },
    ]);
  });
  it('connections reading large bodies at once (one read buffer for all) each count every byte', async () => {
    const pool = new H1Pool('127.0.0.1', port, bytesFor('/big'), 'GET', 4);
    const results = await Promise.all(Array.from({ length: 8 }, () => sendOn(pool)));
    await pool.destroy();
    expect(results.every((r) => r.status === 200 && r.bytes === results[0]!.bytes)).toBe(true);
    expect(results[0]!.bytes - BIG).toBeGreaterThan(30); // the head: status line and headers
    expect(results[0]!.bytes - BIG).toBeLessThan(200);
  });
  it('a refused connection is a failed request (status 0), not an exception', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = new H1Connection('127.0.0.1', dead, bytesFor('/'), 'GET');
    expect(await sendOn(c)).toEqual({ status: 0, bytes: 0 });
    await c.destroy();
  });
  it('sends made while one is in flight wait their turn on the connection; destroy fails the rest', async () => {
    const c = new H1Connection('127.0.0.1', port, bytesFor('/slow'), 'GET');
    const first = [sendOn(c), sendOn(c)];
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    const inFlight = sendOn(c);
    const queued = sendOn(c);
    await c.destroy();
    expect([(await inFlight).status, (await queued).status]).toEqual([0, 0]);
  });
  it('a pool opens at most its size in connections and queues the rest in order', async () => {
    const before = connections;
    const pool = new H1Pool('127.0.0.1', port, bytesFor('/slow'), 'GET', 2);
    const order: number[] = [];
    const all = Array.from({ length: 6 }, (_, i) => sendOn(pool).then((r) => (order.push(i), r.status)));
    expect(await Promise.all(all)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(connections - before).toBe(2);
    expect(order.slice(0, 2).sort()).toEqual([0, 1]);
    expect(order.slice(4).sort()).toEqual([4, 5]);
    const late = [sendOn(pool), sendOn(pool), sendOn(pool)];
    await pool.destroy();
    expect((await Promise.all(late)).map((r) => r.status)).toEqual([0, 0, 0]);
  });
});
